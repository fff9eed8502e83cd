"""Bad data and numbers (issue #11): data outside a likelihood's support,
NaN and inf, seeds outside [0, 2**32), and `num_samples` too large for the
memory. Each check is tried on every backend."""

import keras
import numpy as np
import pytest

import keras_vae
from keras_vae import evaluation
from keras_vae.models import vae as vae_module

SHAPE = (6,)


def tiny_vae(**kwargs):
    encoder = keras.Sequential(
        [keras.Input(SHAPE), keras.layers.Dense(8, activation="tanh")]
    )
    decoder = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(8, activation="tanh"),
            keras.layers.Dense(SHAPE[0]),
        ]
    )
    kwargs.setdefault("seed", 0)
    vae = keras_vae.VAE(encoder, decoder, latent_dim=2, **kwargs)
    vae.compile(optimizer="adam")
    return vae


def binary_data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random((n,) + SHAPE) > 0.5).astype("float32")


def weights_of(model):
    return [np.array(keras.ops.convert_to_numpy(w)) for w in model.weights]


def batches(x, bad_batch=None, bad_value=255.0, batch_size=8):
    """A generator of `(x,)` batches; batch `bad_batch` holds `bad_value`
    at its first position."""
    for i, start in enumerate(range(0, len(x), batch_size)):
        batch = x[start : start + batch_size].copy()
        if i == bad_batch:
            batch[0, 0] = bad_value
        yield (batch,)


SUPPORT_MESSAGE = r"'bernoulli' likelihood needs data in \[0, 1\]"


def assert_support_error(excinfo, low="0", high="255"):
    message = str(excinfo.value)
    assert "'bernoulli'" in message and "[0, 1]" in message, message
    assert f"values from {low} to {high}" in message, message
    assert "x / 255.0" in message, message


# ----------------------------------------------------------------------
# The support of the likelihood (item 7).

SUPPORT_CALLS = {
    "fit": lambda vae, x: vae.fit(x, batch_size=8, verbose=0),
    "evaluate": lambda vae, x: vae.evaluate(x, verbose=0),
    "predict": lambda vae, x: vae.predict(x, verbose=0),
    "call": lambda vae, x: vae(x),
    "encode": lambda vae, x: vae.encode(x),
    "reconstruct": lambda vae, x: vae.reconstruct(x),
    "log_likelihood": lambda vae, x: vae.log_likelihood(
        x, num_samples=2, verbose=0
    ),
}


@pytest.mark.parametrize("method", sorted(SUPPORT_CALLS))
def test_bernoulli_refuses_pixels_in_0_255(method):
    vae = tiny_vae()
    before = weights_of(vae)
    with pytest.raises(ValueError, match=SUPPORT_MESSAGE) as excinfo:
        SUPPORT_CALLS[method](vae, binary_data() * 255)
    assert_support_error(excinfo)
    for old, new in zip(before, weights_of(vae)):
        np.testing.assert_array_equal(old, new)


def test_bernoulli_refuses_uint8_images_and_gaussian_noise():
    vae = tiny_vae()
    images = (binary_data() * 255).astype("uint8")
    with pytest.raises(ValueError, match=SUPPORT_MESSAGE) as excinfo:
        vae.fit(images, verbose=0)
    assert "(uint8)" in str(excinfo.value)
    noise = np.random.default_rng(0).normal(0, 3, (32,) + SHAPE)
    with pytest.raises(ValueError, match="values from -"):
        vae.fit(noise.astype("float32"), verbose=0)


def test_bernoulli_accepts_its_support_and_gaussian_any_finite_value():
    tiny_vae().fit(binary_data(), batch_size=8, verbose=0)
    probabilities = np.random.default_rng(0).random((16,) + SHAPE)
    tiny_vae().encode(probabilities)  # Grey levels in [0, 1] are fine.
    for likelihood in ("gaussian", "gaussian_learned"):
        vae = tiny_vae(likelihood=likelihood)
        history = vae.fit(binary_data() * 255, batch_size=8, verbose=0)
        assert np.isfinite(history.history["loss"][0])
        assert np.isfinite(vae.log_likelihood(binary_data() - 5, 2)).all()


def test_validation_data_is_checked():
    vae = tiny_vae()
    x = binary_data()
    for validation_data in ((x * 255,), x * 255):
        with pytest.raises(ValueError, match="`validation_data`"):
            vae.fit(x, validation_data=validation_data, verbose=0)


def test_generator_batches_are_checked_as_drawn():
    vae = tiny_vae()
    vae.fit(batches(binary_data()), verbose=0)  # Builds the optimizer.
    before = weights_of(vae)
    with pytest.raises(ValueError, match=SUPPORT_MESSAGE):
        vae.fit(batches(binary_data(), bad_batch=2), verbose=0)
    with pytest.raises(ValueError, match="non-finite"):
        vae.evaluate(
            batches(binary_data(), bad_batch=1, bad_value=np.nan), verbose=0
        )
    # A refused call leaves the model as it was, and usable.
    for old, new in zip(before, weights_of(vae)):
        np.testing.assert_array_equal(old, new)
    assert np.isfinite(vae.reconstruct(binary_data())).all()


def test_tf_data_batches_are_checked_as_drawn():
    tf = pytest.importorskip("tensorflow")
    vae = tiny_vae()
    x = binary_data()
    bad = x.copy()
    bad[20, 3] = 255.0  # In the third batch of 8.

    def dataset(values, as_tuple=False):
        elements = (values,) if as_tuple else values
        return tf.data.Dataset.from_tensor_slices(elements).batch(8)

    vae.fit(dataset(x), validation_data=dataset(x), epochs=2, verbose=0)
    before = weights_of(vae)
    for as_tuple in (False, True):
        with pytest.raises(ValueError, match=SUPPORT_MESSAGE) as excinfo:
            vae.fit(dataset(bad, as_tuple), verbose=0)
        assert_support_error(excinfo)
    with pytest.raises(ValueError, match="`validation_data`"):
        vae.fit(dataset(x), validation_data=dataset(bad), verbose=0)
    with pytest.raises(ValueError, match=SUPPORT_MESSAGE):
        vae.evaluate(dataset(bad), verbose=0)
    with pytest.raises(ValueError, match=SUPPORT_MESSAGE):
        vae.predict(dataset(bad), verbose=0)
    nan = x.copy()
    nan[9, 0] = np.nan
    gaussian = tiny_vae(likelihood="gaussian")
    with pytest.raises(ValueError, match="non-finite"):
        gaussian.fit(dataset(nan), verbose=0)
    for old, new in zip(before, weights_of(vae)):
        np.testing.assert_array_equal(old, new)
    assert np.isfinite(vae.reconstruct(x)).all()


# ----------------------------------------------------------------------
# NaN and inf in the inference methods (item 8).


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_inference_methods_refuse_non_finite_inputs(value):
    vae = tiny_vae()
    x = binary_data(8)
    x[3, 2] = value
    calls = [
        lambda: vae.encode(x),
        lambda: vae.reconstruct(x),
        lambda: vae.log_likelihood(x, 2, verbose=0),
        lambda: vae.evaluate(x, verbose=0),
        lambda: vae.predict(x, verbose=0),
        lambda: vae(x),
    ]
    for call in calls:
        with pytest.raises(ValueError, match=r"non-finite.*\(3, 2\)"):
            call()
    z = np.zeros((4, 2), "float32")
    z[1, 1] = value
    with pytest.raises(ValueError, match=r"`z` contains 1 non-finite"):
        vae.decode(z)


# ----------------------------------------------------------------------
# Seeds: None or an int in [0, 2**32), on every backend (item 12).

BAD_SEEDS = [-1, 2**32, 1.5, True, "0"]


def test_largest_seed_works_everywhere():
    seed = 2**32 - 1
    x = binary_data(16)
    vae = tiny_vae(seed=seed)
    vae.fit(x, batch_size=8, verbose=0)
    # The prior's stream is seed + 1, modulo 2**32: here that of seed 0.
    np.testing.assert_allclose(vae.sample(4), vae.sample(4, seed=0))
    other = tiny_vae(seed=5)
    np.testing.assert_allclose(other.sample(4), other.sample(4, seed=6))
    np.testing.assert_allclose(
        vae.log_likelihood(x, 3, seed=seed, verbose=0),
        vae.log_likelihood(x, 3, seed=seed, verbose=0),
    )
    layer = keras_vae.layers.ReparamSampling(seed=seed, kl_weight=0.0)
    zeros = np.zeros((3, 2), "float32")
    noise = layer([zeros, zeros], training=True)
    # The same noise as Keras's own int seed, on every backend.
    expected = keras.random.normal((3, 2), seed=seed)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(noise),
        keras.ops.convert_to_numpy(expected),
        rtol=1e-6,
    )
    assert keras_vae.VAE.from_config(vae.get_config()).seed == seed


@pytest.mark.parametrize("seed", BAD_SEEDS, ids=repr)
def test_seeds_outside_the_rule_are_refused(seed):
    message = rf"`seed` must be .*\[0, 2\*\*32\)\. Received: seed={seed!r}"
    with pytest.raises(ValueError, match=message):
        tiny_vae(seed=seed)
    with pytest.raises(ValueError, match=message):
        keras_vae.layers.ReparamSampling(seed=seed)
    vae = tiny_vae()
    with pytest.raises(ValueError, match=message):
        vae.sample(2, seed=seed)
    with pytest.raises(ValueError, match=message):
        vae.log_likelihood(binary_data(4), 2, seed=seed, verbose=0)
    with pytest.raises(ValueError, match=message):
        evaluation.evaluate(vae, "mnist", seed=seed)
    with pytest.raises(ValueError, match=message):
        evaluation.compare(vae, vae, "mnist", seed=seed)


def test_sample_still_takes_a_seed_generator():
    vae = tiny_vae()
    a = vae.sample(3, seed=keras.random.SeedGenerator(7))
    b = vae.sample(3, seed=keras.random.SeedGenerator(7))
    np.testing.assert_allclose(a, b)


# ----------------------------------------------------------------------
# `num_samples` too large for the memory (item 15).


def test_num_samples_that_cannot_fit_in_memory_fail_up_front(monkeypatch):
    monkeypatch.setattr(vae_module, "_available_memory", lambda: 10_000)
    vae = tiny_vae(objective="iwae", num_samples=64)
    before = weights_of(vae)
    with pytest.raises(ValueError) as excinfo:
        vae.fit(binary_data(), batch_size=16, verbose=0)
    message = str(excinfo.value)
    for part in ("`num_samples=64`", "batch size of 16", "9.8 KiB"):
        assert part in message, message
    assert "smaller `num_samples` or `batch_size`" in message
    for old, new in zip(before, weights_of(vae)):
        np.testing.assert_array_equal(old, new)
    # A generator's batch size is known at its first batch.
    with pytest.raises(ValueError, match="batch size of 8"):
        vae.fit(batches(binary_data()), verbose=0)
    # One sample per example is never checked; nor is unknown memory.
    tiny_vae().fit(binary_data(), batch_size=16, verbose=0)
    monkeypatch.setattr(vae_module, "_available_memory", lambda: None)
    vae.fit(binary_data(), batch_size=16, verbose=0)


def test_available_memory_is_read_on_linux():
    import os

    if not os.path.exists("/proc/meminfo"):
        pytest.skip("no /proc/meminfo")
    available = vae_module._available_memory()
    assert isinstance(available, int) and available > 2**20
