"""A training run killed at any point resumes and ends where an
uninterrupted run would."""

import json
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from keras_vae.testing import to_numpy
from zoo import train

ARGS = [
    "mnist_mlp_2",
    "--epochs",
    "3",
    "--split",
    "train[:384]",
    "--no-tensorboard",
]
REPO = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def run_train(workdir, wait_for_epochs=None):
    """Runs `python -m zoo.train` in a subprocess; kills it, if asked, once
    `wait_for_epochs` epochs are checkpointed (it may be anywhere then)."""
    command = [sys.executable, "-m", "zoo.train", *ARGS, "--workdir", workdir]
    env = {**os.environ, "PYTHONPATH": REPO, "TF_CPP_MIN_LOG_LEVEL": "3"}
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    if wait_for_epochs is None:
        output, _ = process.communicate(timeout=600)
        assert process.returncode == 0, output.decode()[-3000:]
        return output.decode()
    state = os.path.join(workdir, train.STATE)
    deadline = time.time() + 600
    while time.time() < deadline:
        if os.path.exists(state):
            with open(state) as f:
                if json.load(f).get("epochs_done", 0) >= wait_for_epochs:
                    break
        if process.poll() is not None:
            pytest.fail("training ended before it could be interrupted")
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.communicate()


@pytest.mark.large
def test_killed_run_resumes_to_the_same_weights(tmp_path):
    uninterrupted = str(tmp_path / "a")
    interrupted = str(tmp_path / "b")
    assert "from scratch" in run_train(uninterrupted)
    run_train(interrupted, wait_for_epochs=1)  # Killed during epoch 2.
    resumed = run_train(interrupted)  # The same command again.
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
