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


# ----------------------------------------------------------------------
# Review of the data checks: a refusal restores the optimizer's state too,
# every watched input is snapshotted, bf16 and complex data, the memory
# estimate for small data.


def optimizer_state(model):
    return {
        v.path: np.array(keras.ops.convert_to_numpy(v))
        for v in model.optimizer.variables
    }


def test_refused_first_fit_leaves_the_model_as_new():
    # The optimizer's slots (Adam's moments) and the encoder head's
    # weights did not exist before the first `fit`: a refusal at the
    # fourth batch left them as three training steps made them.
    keras.utils.set_random_seed(1)
    vae = tiny_vae()
    with pytest.raises(ValueError, match="non-finite"):
        vae.fit(
            batches(binary_data(), bad_batch=3, bad_value=np.nan), verbose=0
        )
    keras.utils.set_random_seed(1)
    new = tiny_vae()  # The same initial weights, built without training.
    new(keras.KerasTensor((8,) + SHAPE))  # Builds it, symbolically.
    new.optimizer.build(new.trainable_variables)
    assert len(vae.weights) == len(new.weights)
    for old, value in zip(weights_of(new), weights_of(vae)):
        np.testing.assert_array_equal(old, value)
    fresh = list(optimizer_state(new).values())
    state = list(optimizer_state(vae).values())
    assert len(fresh) == len(state) > 2
    for old, value in zip(fresh, state):
        np.testing.assert_array_equal(old, value)
    vae.fit(binary_data(), batch_size=8, verbose=0)  # Still trains.
    assert np.isfinite(vae.reconstruct(binary_data())).all()


def test_refused_fit_restores_a_built_optimizer():
    vae = tiny_vae()
    vae.fit(batches(binary_data()), verbose=0)
    before, weights = optimizer_state(vae), weights_of(vae)
    with pytest.raises(ValueError, match="non-finite"):
        vae.fit(
            batches(binary_data(), bad_batch=3, bad_value=np.nan), verbose=0
        )
    after = optimizer_state(vae)
    assert sorted(before) == sorted(after)
    for path, value in before.items():
        np.testing.assert_array_equal(value, after[path], err_msg=path)
    for old, new in zip(weights, weights_of(vae)):
        np.testing.assert_array_equal(old, new)


def nested_dataset(tf, x):
    """Batches of `{"x": ...}` dicts: a data set `BatchChecks` leaves
    unwrapped."""
    return tf.data.Dataset.from_tensor_slices({"x": x}).batch(8)


def test_batch_checks_keeps_watching_after_an_unwrapped_input():
    tf = pytest.importorskip("tensorflow")
    from keras_vae.callbacks.nan_guard import BatchChecks

    checks = BatchChecks(lambda name, batch: None)
    checks.wrap("x", batches(binary_data()))
    assert checks.watching
    checks.wrap("validation_data", nested_dataset(tf, binary_data()))
    assert checks.watching
    checks.wrap("validation_data", binary_data())  # An array: unchanged.
    assert checks.watching


def test_generator_refusal_with_nested_validation_data_restores():
    tf = pytest.importorskip("tensorflow")
    vae = tiny_vae()
    vae.fit(batches(binary_data()), verbose=0)
    before, weights = optimizer_state(vae), weights_of(vae)
    with pytest.raises(ValueError, match="non-finite"):
        vae.fit(
            batches(binary_data(), bad_batch=3, bad_value=np.nan),
            validation_data=nested_dataset(tf, binary_data()),
            verbose=0,
        )
    for old, new in zip(weights, weights_of(vae)):
        np.testing.assert_array_equal(old, new)
    after = optimizer_state(vae)
    for path, value in before.items():
        np.testing.assert_array_equal(value, after[path], err_msg=path)


def test_bfloat16_and_float16_data_are_checked():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    from keras_vae.callbacks.nan_guard import check_data

    for dtype in (ml_dtypes.bfloat16, np.float16):
        x = binary_data(8)
        x[3, 2] = np.nan
        with pytest.raises(ValueError, match=r"non-finite.*\(3, 2\)"):
            check_data("x", x.astype(dtype))
        with pytest.raises(ValueError, match=r"non-finite.*\(3, 2\)"):
            tiny_vae().encode(x.astype(dtype))
        with pytest.raises(ValueError, match=SUPPORT_MESSAGE) as excinfo:
            check_data(
                "x",
                (binary_data(8) * 255).astype(dtype),
                likelihood="bernoulli",
                support=(0.0, 1.0),
            )
        assert_support_error(excinfo)
        assert f"({np.dtype(dtype)})" in str(excinfo.value)
        check_data("x", binary_data(8).astype(dtype), "bernoulli", (0, 1))
    fp8 = getattr(ml_dtypes, "float8_e4m3fn", None)
    if fp8 is not None:
        with pytest.raises(ValueError, match="non-finite"):
            check_data("x", np.array([1.0, np.nan], "float32").astype(fp8))


def test_complex_data_is_refused():
    from keras_vae.callbacks.nan_guard import check_data

    x = binary_data(8).astype("complex64")
    with pytest.raises(ValueError, match=r"`x` is complex \(complex64\)"):
        check_data("x", x)
    with pytest.raises(ValueError, match=r"`x` is complex"):
        tiny_vae().encode(x)


def test_memory_check_uses_the_examples_there_are(monkeypatch):
    # Decoder values per example: 8 + 6; a step with 64 samples needs
    # 64 x 14 x 4 bytes x 3 = 10752 bytes per example.
    monkeypatch.setattr(vae_module, "_available_memory", lambda: 100_000)
    vae = tiny_vae(objective="iwae", num_samples=64)
    # 8 examples make one batch of 8 (86 016 bytes), not of 32.
    vae.fit(binary_data(8), verbose=0)
    vae.fit(binary_data(8), batch_size=64, verbose=0)
    with pytest.raises(ValueError, match="batch size of 16") as excinfo:
        vae.fit(binary_data(), batch_size=16, verbose=0)
    message = str(excinfo.value)
    assert "/proc/meminfo" in message and "accelerator" in message, message
    assert "this machine" in message, message
    doc = " ".join(keras_vae.VAE.fit.__doc__.split())
    assert "the memory of this machine, as /proc/meminfo reports it" in doc
    assert "on an accelerator, the backend's own limit applies" in doc
