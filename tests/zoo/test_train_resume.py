"""A training run killed at any point resumes and ends where an
uninterrupted run would."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from keras_vae.testing import to_numpy
from keras_vae.training import run as train

ARGS = [
    "mnist_mlp_2",
    "--epochs",
    "3",
    "--split",
    "train[:384]",
    "--no-tensorboard",
]
REPO = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def start_train(workdir):
    """Starts `python -m zoo.train` in a subprocess."""
    command = [sys.executable, "-m", "zoo.train", *ARGS, "--workdir", workdir]
    env = {**os.environ, "PYTHONPATH": REPO, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen(
        command,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def finish_train(process):
    """Waits for a run to end; returns its output."""
    output, _ = process.communicate(timeout=600)
    assert process.returncode == 0, output.decode()[-3000:]
    return output.decode()


def kill_after(workdir, epochs, attempts=3):
    """Starts a run and kills it once `epochs` epochs are checkpointed (it
    may be anywhere then). A run that ends first (this test process was not
    scheduled in time, on a loaded machine) is started again afresh."""
    state = os.path.join(workdir, train.STATE)
    for _ in range(attempts):
        shutil.rmtree(workdir, ignore_errors=True)
        process = start_train(workdir)
        deadline = time.time() + 600
        while time.time() < deadline and process.poll() is None:
            if os.path.exists(state):
                with open(state) as f:
                    if json.load(f).get("epochs_done", 0) >= epochs:
                        break
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.communicate()
        if process.returncode == -signal.SIGKILL:
            return
    pytest.fail(f"training ended before it could be interrupted, {attempts}x")


@pytest.mark.large
def test_killed_run_resumes_to_the_same_weights(tmp_path):
    uninterrupted = str(tmp_path / "a")
    interrupted = str(tmp_path / "b")
    reference = start_train(uninterrupted)  # Runs alongside the others.
    kill_after(interrupted, 1)  # During epoch 2.
    resumed = finish_train(start_train(interrupted))  # The same command.
    assert "from scratch" in finish_train(reference)
    assert "Resuming mnist_mlp_2" in resumed
    assert "from scratch" not in resumed
    a = keras.saving.load_model(os.path.join(uninterrupted, train.CHECKPOINT))
    b = keras.saving.load_model(os.path.join(interrupted, train.CHECKPOINT))
    assert int(to_numpy(b.optimizer.iterations)) == 3 * 3  # 384 / 128.
    for wa, wb in zip(a.weights, b.weights, strict=True):
        np.testing.assert_allclose(
            to_numpy(wa),
            to_numpy(wb),
            rtol=1e-5,
            atol=1e-6,
            err_msg=wa.path,
        )
    with open(os.path.join(interrupted, train.STATE)) as f:
        state = json.load(f)
    assert state["epochs_done"] == 3
    assert state["command"].startswith("python -m zoo.train mnist_mlp_2")
