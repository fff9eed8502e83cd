"""`zoo.train --distribute` on two virtual CPU devices matches one device.

Under a strategy, each replica's losses, `add_loss` terms included, must be
scaled so that the summed gradients equal one device's: a KL or
reconstruction term counted twice (or half) would show here. To compare
runs at float precision, the encoder's variance is pinned at the clip floor
(log-variance -30, a standard deviation of 3e-7, with zero gradient), which
makes the sampled latents equal to their means up to ~1e-7, and both runs
see the same fixed binary images. The learning rate is large enough that
training moves the weights, the encoder's (which get the KL gradient)
included, far more than the tolerance of the comparison.
"""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_vae.testing import to_numpy
from keras_vae.training import run as train

REPO = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
SCRIPT = """
import sys

import keras
import numpy as np

from keras_vae.training import run as train

workdir, devices = sys.argv[1], int(sys.argv[2])
learning_rate = float(sys.argv[3])
train.configure_virtual_devices(devices)
build = train.build_vae


def build_with_pinned_variance(config):
    vae = build(config)
    vae(np.zeros((1, 28, 28, 1), "float32"))
    head = vae.encoder_head
    kernel = keras.ops.convert_to_numpy(head.kernel).copy()
    bias = keras.ops.convert_to_numpy(head.bias).copy()
    kernel[:, config.latent_dim:] = 0.0
    bias[config.latent_dim:] = -40.0
    head.kernel.assign(kernel)
    head.bias.assign(bias)
    np.savez(
        f"{workdir}/initial.npz",
        *[keras.ops.convert_to_numpy(w) for w in vae.trainable_weights],
    )
    return vae


def fixed_batches(config, epoch, split, batch_size):
    # The same binary images in the same order for both runs: distributing a
    # tf.data pipeline rewrites its graph, which changes the key of its
    # dynamic binarization (a different, equally valid, draw).
    import tensorflow as tf

    from keras_vae import datasets

    x = datasets.load_binarized_test_set("mnist")[0][:1024]
    return tf.data.Dataset.from_tensor_slices(x).batch(batch_size)


def compile_with_sgd(vae, config, total_steps):
    # Plain SGD: unlike Adam, it is not invariant to the scale of the
    # gradients (a loss counted twice moves the weights twice as far), and
    # it does not blow up rounding noise on near-zero gradients.
    vae.compile(optimizer=keras.optimizers.SGD(learning_rate))


train.build_vae = build_with_pinned_variance
train.epoch_dataset = fixed_batches
train.compile_vae = compile_with_sgd
train.train(
    "mnist_mlp_2", workdir=workdir, epochs=1, split="train[:1024]",
    verbose=0, tensorboard=False, distribute=devices > 1,
)
"""
LEARNING_RATE = 1.5e-3
RTOL, ATOL = 2e-4, 2e-5


def start(workdir, devices):
    env = {**os.environ, "PYTHONPATH": REPO, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            SCRIPT,
            workdir,
            str(devices),
            str(LEARNING_RATE),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process):
    stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stdout[-2000:] + stderr[-4000:]
    return stdout


@pytest.mark.large
def test_two_devices_match_one(tmp_path):
    if keras.backend.backend() not in ("tensorflow", "jax"):
        pytest.skip(
            "zoo.train --distribute uses tf.distribute or "
            "keras.distribution (JAX); torch has neither here"
        )
    one, two = str(tmp_path / "one"), str(tmp_path / "two")
    runs = [start(one, 1), start(two, 2)]  # Side by side: mostly start-up.
    finish(runs[0])
    assert "over 2 devices" in finish(runs[1])
    a = keras.saving.load_model(os.path.join(one, train.CHECKPOINT))
    b = keras.saving.load_model(os.path.join(two, train.CHECKPOINT))
    assert int(to_numpy(b.optimizer.iterations)) == 8  # Global batches.
    initial = []
    for run in (one, two):  # The weights each run started from.
        with np.load(os.path.join(run, "initial.npz")) as npz:
            initial.append([npz[f"arr_{i}"] for i in range(len(npz.files))])
    encoder = {
        w.path
        for w in a.encoder.trainable_weights + a.encoder_head.trainable_weights
    }
    moved = {}
    for wa, wb, w0, w0b in zip(
        a.trainable_weights, b.trainable_weights, *initial, strict=True
    ):
        np.testing.assert_array_equal(w0, w0b, err_msg=wa.path)
        np.testing.assert_allclose(
            to_numpy(wa),
            to_numpy(wb),
            rtol=RTOL,
            atol=ATOL,
            err_msg=wa.path,
        )
        moved[wa.path] = float(np.max(np.abs(to_numpy(wa) - w0)))
    # The comparison means something only if training moved the weights
    # far beyond its tolerance: the encoder's too, which the KL term reaches.
    assert max(moved.values()) >= 50 * ATOL, moved
    assert max(moved[path] for path in encoder) >= 50 * ATOL, moved


def test_distribute_on_an_unsupported_backend_is_a_clear_error():
    if keras.backend.backend() != "torch":
        pytest.skip("only torch lacks a distribution engine here")
    with pytest.raises(ValueError, match="backend='torch'"):
        train.distribution_scope(True)
