"""Training on several processes: two processes on 127.0.0.1 against one
process on the same global batches (`keras_vae.training.distributed`), on
JAX (`jax.distributed`) and TensorFlow (`MultiWorkerMirroredStrategy`).

The runs are subprocesses with their own `KERAS_BACKEND` whatever the
backend of the test session; the checks of the settings run in this
process.
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


BACKENDS = ["jax", "tensorflow"]
ANNOUNCED = {
    "jax": "DataParallel over 2 devices",
    "tensorflow": "MultiWorkerMirroredStrategy over 2 devices of 2 processes",
}


def environment(backend, **extra):
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("TF_CONFIG", None)
    return {**env, **extra}


def start(workdir, backend, *extra):
    env = environment(backend)
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


def run_processes(workdir, count, backend):
    port = free_port()
    processes = [
        start(
            workdir,
            backend,
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


@pytest.fixture(scope="module", params=BACKENDS)
def runs(request, tmp_path_factory):
    """The same run on two processes and on one, started together."""
    backend = request.param
    root = tmp_path_factory.mktemp(f"runs_{backend}")
    single = start(root / "one", backend)
    outputs = run_processes(root / "two", 2, backend)
    output, _ = single.communicate(timeout=240)
    assert single.returncode == 0, output[-3000:]
    return root, outputs, backend


def test_two_processes_train_as_one_on_the_same_global_batches(runs):
    # On TensorFlow too: every replica keeps its rows of the global batch's
    # noise (`ops.normal_noise`), and Keras's second pass over the data
    # (to build the model) gives the draws of the first.
    root, outputs, backend = runs
    two = weights(root / "two" / "checkpoint.keras")
    one = weights(root / "one" / "checkpoint.keras")
    assert len(two) == len(one)
    for a, b in zip(two, one):
        np.testing.assert_allclose(a, b, atol=1e-5)
    for output in outputs:
        assert ANNOUNCED[backend] in output
    # Both processes logged the global batch's loss, the single one's.
    losses = [
        [line for line in output.splitlines() if " - loss: " in line][-1]
        for output in outputs
    ]
    assert losses[0].split(" - elbo")[1] == losses[1].split(" - elbo")[1]


def test_only_process_zero_writes(runs):
    root, _, _ = runs
    assert sorted(os.listdir(root / "two")) == [
        "checkpoint.keras",
        "state.json",
    ]


def test_two_processes_resume_from_the_checkpoint(runs):
    root, _, backend = runs
    if backend != "jax":  # The resume's logic is the same on both.
        pytest.skip("resumes are checked on jax, the quicker to start")
    before = weights(root / "two" / "checkpoint.keras")
    outputs = run_processes(root / "two", 2, backend)
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


def test_torch_is_refused(monkeypatch):
    monkeypatch.setattr(distributed, "_backend", lambda: "torch")
    with pytest.raises(
        distributed.DistributedSettingsError,
        match="needs the jax backend.*or the tensorflow.*'torch'",
    ):
        distributed.initialize("127.0.0.1:1234", 2, 0)


def test_tf_config_lists_the_workers_chief_first(monkeypatch):
    cluster = {"chief": ["a:1"], "worker": ["b:2", "c:3"]}
    for task, index in [({"type": "chief", "index": 0}, 0)] + [
        ({"type": "worker", "index": i}, i + 1) for i in range(2)
    ]:
        config = {"cluster": cluster, "task": task}
        monkeypatch.setenv("TF_CONFIG", json.dumps(config))
        assert distributed._tf_config_workers() == (
            ["a:1", "b:2", "c:3"],
            index,
        )
    monkeypatch.delenv("TF_CONFIG")
    assert distributed._tf_config_workers() is None


@pytest.mark.parametrize(
    "value",
    [
        "not json",
        json.dumps({"cluster": {"worker": ["a:1"]}}),
        json.dumps(
            {"cluster": {"worker": ["a:1"]}, "task": {"type": "ps", "index": 0}}
        ),
        json.dumps(
            {
                "cluster": {"worker": ["a:1"]},
                "task": {"type": "worker", "index": 1},
            }
        ),
    ],
)
def test_an_unreadable_tf_config_is_named(monkeypatch, value):
    monkeypatch.setenv("TF_CONFIG", value)
    with pytest.raises(
        distributed.DistributedSettingsError,
        match="TF_CONFIG must describe.*Received: TF_CONFIG=",
    ):
        distributed._tf_config_workers()


def test_flags_that_disagree_with_tf_config_are_refused(monkeypatch):
    # Refused before joining anything (no TensorFlow server starts).
    monkeypatch.setattr(distributed, "_backend", lambda: "tensorflow")
    config = {
        "cluster": {"worker": ["10.0.0.1:2222", "10.0.0.2:2222"]},
        "task": {"type": "worker", "index": 1},
    }
    monkeypatch.setenv("TF_CONFIG", json.dumps(config))
    with pytest.raises(
        distributed.DistributedSettingsError,
        match=r"disagree with TF_CONFIG, which lists 2 processes with "
        r"10.0.0.1:2222 first and this one as 1.*--process-id 0",
    ):
        distributed.initialize("10.0.0.1:2222", 2, 0)
    assert distributed.strategy() is None


def test_tensorflow_ports_past_65535_are_refused(monkeypatch):
    monkeypatch.setattr(distributed, "_backend", lambda: "tensorflow")
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(
        distributed.DistributedSettingsError, match="ports 65535 to 65536"
    ):
        distributed.initialize("127.0.0.1:65535", 2, 0)


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


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_sharded_evaluation_is_the_single_process_one(backend):
    command = [sys.executable, "-m", "keras_vae.cli", *EVALUATE]
    port, other = free_port(), free_port()
    if backend == "jax":
        flags = [
            ["--coordinator", f"127.0.0.1:{port}", "--num-processes", "2"]
            + ["--process-id", str(i)]
            for i in range(2)
        ]
        envs = [environment(backend)] * 2
    else:  # The cluster from TF_CONFIG alone, as across hosts.
        workers = [f"127.0.0.1:{port}", f"127.0.0.1:{other}"]
        flags = [[], []]
        envs = [
            environment(
                backend,
                TF_CONFIG=json.dumps(
                    {
                        "cluster": {"worker": workers},
                        "task": {"type": "worker", "index": i},
                    }
                ),
            )
            for i in range(2)
        ]
    processes = [
        subprocess.Popen(
            command + flags[i],
            cwd=REPO,
            env=envs[i],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    single = subprocess.run(
        command,
        cwd=REPO,
        env=environment(backend),
        capture_output=True,
        text=True,
        timeout=240,
    )
    outputs = [p.communicate(timeout=240) for p in processes]
    for process, (_, err) in zip(processes, outputs):
        assert process.returncode == 0, err[-3000:]
    assert single.returncode == 0, single.stderr[-3000:]
    assert "nll" not in outputs[1][0]  # Process 0 alone prints the result.
    # (gloo prints a line of its own before the JSON.)
    sharded = json.loads(outputs[0][0][outputs[0][0].index("{") :])
    alone = json.loads(single.stdout[single.stdout.index("{") :])
    for result in (sharded, alone):
        del result["seconds"]
    assert sharded == alone  # The same draws for every image: equal.
