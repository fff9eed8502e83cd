"""Training on several processes: two JAX processes on 127.0.0.1 against
one process on the same global batches (`keras_vae.training.distributed`).

The runs are subprocesses with `KERAS_BACKEND=jax` whatever the backend of
the test session; the checks of the settings run in this process.
"""

import json
import os
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest

import keras_vae  # noqa: F401  (registers the classes the checkpoints hold)
from keras_vae import cli
from keras_vae.training import distributed

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARGS = ["train", "mnist_mlp_2", "--epochs", "1", "--split", "train[:256]"]
ARGS += ["--no-tensorboard"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(workdir, *extra):
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-m", "keras_vae.cli", *ARGS]
    command += ["--workdir", str(workdir), *extra]
    return subprocess.Popen(
        command,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def run_processes(workdir, count):
    port = free_port()
    processes = [
        start(
            workdir,
            "--coordinator",
            f"127.0.0.1:{port}",
            "--num-processes",
            str(count),
            "--process-id",
            str(i),
        )
        for i in range(count)
    ]
    outputs = []
    for process in processes:
        try:
            output, _ = process.communicate(timeout=240)
        except subprocess.TimeoutExpired:
            for p in processes:
                p.kill()
            raise
        outputs.append(output)
        assert process.returncode == 0, output[-3000:]
    return outputs


def weights(path):
    model = keras.saving.load_model(path)
    return [keras.ops.convert_to_numpy(w) for w in model.weights]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The same run on two processes and on one, started together."""
    root = tmp_path_factory.mktemp("runs")
    single = start(root / "one")
    outputs = run_processes(root / "two", 2)
    output, _ = single.communicate(timeout=240)
    assert single.returncode == 0, output[-3000:]
    return root, outputs


def test_two_processes_train_as_one_on_the_same_global_batches(runs):
    root, outputs = runs
    two = weights(root / "two" / "checkpoint.keras")
    one = weights(root / "one" / "checkpoint.keras")
    assert len(two) == len(one)
    for a, b in zip(two, one):
        np.testing.assert_allclose(a, b, atol=1e-5)
    for output in outputs:
        assert "DataParallel over 2 devices" in output


def test_only_process_zero_writes(runs):
    root, _ = runs
    assert sorted(os.listdir(root / "two")) == [
        "checkpoint.keras",
        "state.json",
    ]


def test_two_processes_resume_from_the_checkpoint(runs):
    root, _ = runs
    before = weights(root / "two" / "checkpoint.keras")
    outputs = run_processes(root / "two", 2)
    for output in outputs:
        assert "Resuming mnist_mlp_2" in output and "epoch 1/1 done" in output
    after = weights(root / "two" / "checkpoint.keras")
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (["--coordinator", "127.0.0.1:1234"], "--num-processes, --process-id"),
        (
            ["--coordinator", "no port", "--num-processes", "2"]
            + ["--process-id", "0"],
            "`coordinator` must be HOST:PORT",
        ),
        (
            ["--coordinator", "h:1", "--num-processes", "2"]
            + ["--process-id", "2"],
            "`process_id` must be an integer from 0 to 1",
        ),
        (
            ["--coordinator", "h:1", "--num-processes", "0"]
            + ["--process-id", "0"],
            "`num_processes` must be a positive integer",
        ),
    ],
)
def test_bad_settings_are_one_line_errors(tmp_path, capsys, extra, fragment):
    argv = [*ARGS, "--workdir", str(tmp_path / "run"), *extra]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


@pytest.mark.skipif(
    keras.backend.backend() == "jax", reason="checks the other backends"
)
def test_other_backends_are_refused():
    with pytest.raises(distributed.DistributedSettingsError, match="jax"):
        distributed.initialize("127.0.0.1:1234", 2, 0)


def test_processes_that_disagree_are_refused(monkeypatch):
    # Two processes that see different checkpoints (no shared work
    # directory): the allgathered values differ.
    monkeypatch.setattr(distributed, "process_count", lambda: 2)
    fake = type(sys)("multihost_utils")
    fake.process_allgather = lambda value: np.array([[3], [0]])
    monkeypatch.setitem(sys.modules, "jax.experimental.multihost_utils", fake)
    import jax.experimental

    monkeypatch.setattr(
        jax.experimental, "multihost_utils", fake, raising=False
    )
    with pytest.raises(
        distributed.DistributedSettingsError,
        match=r"process 0: 3, process 1: 0.*same work directory",
    ):
        distributed.same_everywhere(3, "the epochs done")


EVALUATE = ["evaluate", "mnist_mlp_2", "-k", "20", "--limit", "300"]
EVALUATE += ["--batch-size", "100", "--json", "-q"]


def test_a_sharded_evaluation_is_the_single_process_one():
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-m", "keras_vae.cli", *EVALUATE]
    port = free_port()
    processes = [
        subprocess.Popen(
            command
            + ["--coordinator", f"127.0.0.1:{port}", "--num-processes", "2"]
            + ["--process-id", str(i)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    single = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=240
    )
    outputs = [p.communicate(timeout=240) for p in processes]
    for process, (_, err) in zip(processes, outputs):
        assert process.returncode == 0, err[-3000:]
    assert single.returncode == 0, single.stderr[-3000:]
    assert "nll" not in outputs[1][0]  # Process 0 alone prints the result.
    # (gloo prints a line of its own before the JSON.)
    sharded = json.loads(outputs[0][0][outputs[0][0].index("{") :])
    alone = json.loads(single.stdout)
    for result in (sharded, alone):
        del result["seconds"]
    assert sharded == alone  # The same draws for every image: equal.
