"""KL warm-up under `tf.distribute.MirroredStrategy` on two CPU devices.

The warm-up counter is advanced inside `call`. As a mirrored variable, its
write stopped each replica in the middle of `call` until all replicas
reached it, and `MirroredStrategy` ran the other replica's `call` in
between, while a model's `add_loss` losses are one Python list shared by
the replicas: the first replica's losses leaked into the second one's, and
`fit` reported a loss 1.5 times too high on two devices (a standalone
`ReparamSampling` lost the first replica's KL term, and its gradient).

One subprocess (TensorFlow's logical devices are fixed before it
initialises) splits the CPU into two devices as `zoo.train --distribute`
does, then trains the same model from the same weights on one device and
on both, with the encoder's variance pinned at the clip floor so that the
latents equal their means (to ~1e-7) whatever the noise of each replica.
"""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(__file__))
SKIP = "SKIP: "
SCRIPT = """
import json
import sys

from keras_vae.training import run as train

try:
    train.configure_virtual_devices(2)
    import tensorflow as tf

    devices = train.mirrored_devices()
except Exception as error:  # Any reason TensorFlow cannot split the CPU.
    print("SKIP: " + repr(error))
    sys.exit(0)
if len(devices) != 2:
    print(f"SKIP: {len(devices)} logical devices, not 2: {devices}")
    sys.exit(0)

import keras
import numpy as np

import keras_vae

WARMUP, START, EPOCHS = 8, 1, 2  # Weights 1/8 then 2/8: a KL term counts.
rng = np.random.default_rng(0)
x = (rng.random((16, 6)) > 0.5).astype("float32")


def vae_model():
    encoder = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(8, activation="tanh")]
    )
    decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(6)])
    vae = keras_vae.VAE(
        encoder, decoder, latent_dim=2, kl_warmup_steps=WARMUP, seed=0
    )
    vae(x[:1])
    head = vae.encoder_head
    kernel = keras.ops.convert_to_numpy(head.kernel).copy()
    bias = keras.ops.convert_to_numpy(head.bias).copy()
    kernel[:, 2:] = 0.0
    bias[2:] = -40.0  # log-variance -30 once clipped: z = mean.
    head.kernel.assign(kernel)
    head.bias.assign(bias)
    return vae, vae


def sampling_model():
    inputs = keras.Input((6,))
    mean = keras.layers.Dense(2)(inputs)
    log_var = keras.layers.Dense(
        2,
        kernel_initializer="zeros",
        bias_initializer=keras.initializers.Constant(-40.0),
    )(inputs)
    sampler = keras_vae.layers.ReparamSampling(
        kl_weight=1.0, kl_warmup_steps=WARMUP, seed=0
    )
    outputs = keras.layers.Dense(6)(sampler([mean, log_var]))
    return keras.Model(inputs, outputs), sampler


def run(build, strategy, initial=None):
    with strategy.scope():
        keras.utils.set_random_seed(0)
        model, counter = build()
        if initial is not None:
            model.set_weights(initial)
        counter.kl_step.assign(START)
        initial = model.get_weights()
        is_vae = model is counter
        model.compile(
            optimizer=keras.optimizers.SGD(0.1),
            loss=None if is_vae else "mse",
        )
    weights, steps = [], []
    for _ in range(EPOCHS):  # One step each: the weight of that step.
        weights.append(float(counter.current_kl_weight()))
        history = model.fit(
            x, None if is_vae else x, batch_size=16, verbose=0
        )
        steps.append(int(keras.ops.convert_to_numpy(counter.kl_step)))
    logs = {k: float(v[0]) for k, v in history.history.items()}
    return initial, {
        **logs,
        "kl_weight": weights[-1],
        "kl_steps": steps,
        "weights": [w.tolist() for w in model.get_weights()],
    }


mirrored = tf.distribute.MirroredStrategy(devices)
results = {}
for name, build in (("vae", vae_model), ("sampling", sampling_model)):
    initial, one = run(build, tf.distribute.get_strategy())
    _, two = run(build, mirrored, initial)
    results[name] = {"one": one, "two": two}

# The reparametrization noise of each replica: its rows of one draw.
from keras_vae import ops as vae_ops

with mirrored.scope():
    seeds = [keras.random.SeedGenerator(3), keras.random.SeedGenerator(4)]


@tf.function
def draw():
    return mirrored.run(
        lambda: (
            vae_ops.normal_noise((3, 2), seeds[0]),
            vae_ops.normal_noise((2, 3, 2), seeds[1], batch_axis=1),
        )
    )


values = draw()
results["noise"] = {
    "parts": [
        [t.numpy().tolist() for t in mirrored.experimental_local_results(v)]
        for v in values
    ],
    "whole": [
        keras.random.normal((6, 2), seed=keras.random.SeedGenerator(3))
        .numpy()
        .tolist(),
        keras.random.normal((2, 6, 2), seed=keras.random.SeedGenerator(4))
        .numpy()
        .tolist(),
    ],
}
print("RESULTS: " + json.dumps(results))
"""


@pytest.fixture(scope="module")
def results():
    if importlib.util.find_spec("tensorflow") is None:
        pytest.skip("needs tensorflow")
    env = {
        **os.environ,
        "KERAS_BACKEND": "tensorflow",
        "CUDA_VISIBLE_DEVICES": "-1",  # Two CPU devices, never a GPU.
        "PYTHONPATH": REPO,
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    process = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert process.returncode == 0, process.stderr[-4000:]
    lines = process.stdout.splitlines()
    for line in lines:
        if line.startswith(SKIP):
            pytest.skip(line[len(SKIP) :])
    (line,) = [line for line in lines if line.startswith("RESULTS: ")]
    return json.loads(line[len("RESULTS: ") :])


def test_vae_loss_on_two_devices_is_the_loss_on_one(results):
    one, two = results["vae"]["one"], results["vae"]["two"]
    assert one["kl_weight"] == two["kl_weight"] == 0.25
    for run in (one, two):
        assert run["kl"] > 1.0, run  # The KL term weighs in the loss.
        np.testing.assert_allclose(
            run["loss"],
            run["reconstruction"] + run["kl_weight"] * run["kl"],
            rtol=1e-6,
        )
        np.testing.assert_allclose(
            run["elbo"], -(run["reconstruction"] + run["kl"]), rtol=1e-6
        )
    for key in ("loss", "reconstruction", "kl", "elbo"):
        np.testing.assert_allclose(two[key], one[key], rtol=1e-5, err_msg=key)


@pytest.mark.parametrize("model", ["vae", "sampling"])
def test_warmup_counts_steps_and_weights_match(results, model):
    one, two = results[model]["one"], results[model]["two"]
    assert one["kl_steps"] == two["kl_steps"] == [2, 3]  # Steps, not x2.
    np.testing.assert_allclose(two["loss"], one["loss"], rtol=1e-5)
    assert len(one["weights"]) == len(two["weights"])
    for a, b in zip(one["weights"], two["weights"]):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


def test_each_replica_draws_its_rows_of_the_global_noise(results):
    # Every replica holds the same seed: plain `keras.random.normal` gave
    # them the same noise. `ops.normal_noise` gives each its rows of the
    # draw one device makes for the whole batch (the batch axis first, or
    # after the sample axes).
    noise = results["noise"]
    first, second = (np.asarray(p) for p in noise["parts"][0])
    assert first.shape == second.shape == (3, 2)
    assert not np.allclose(first, second)
    np.testing.assert_allclose(
        np.concatenate([first, second]), noise["whole"][0], rtol=1e-6
    )
    first, second = (np.asarray(p) for p in noise["parts"][1])
    assert first.shape == (2, 3, 2)
    np.testing.assert_allclose(
        np.concatenate([first, second], axis=1), noise["whole"][1], rtol=1e-6
    )
