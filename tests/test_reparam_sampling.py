import keras
import numpy as np
import pytest
from keras import ops as kops

from keras_vae import ops
from keras_vae.layers import GaussianEncoderHead
from keras_vae.layers import ReparamSampling
from keras_vae.testing import dtype_name
from keras_vae.testing import run_layer_test
from keras_vae.testing import to_numpy


def pair(batch=4, dim=3, seed=0):
    rng = np.random.default_rng(seed)
    return [
        rng.normal(size=(batch, dim)).astype("float32"),
        rng.normal(scale=0.3, size=(batch, dim)).astype("float32"),
    ]


@pytest.mark.parametrize(
    "kwargs, shape, losses, non_trainable",
    [
        ({}, (4, 3), 1, 0),
        ({"kl_weight": 0.0}, (4, 3), 0, 0),
        ({"num_samples": 5, "kl_weight": 0.5}, (4, 5, 3), 1, 0),
        ({"kl_warmup_steps": 10}, (4, 3), 1, 1),
    ],
)
def test_layer_basics(kwargs, shape, losses, non_trainable):
    run_layer_test(
        ReparamSampling,
        {"seed": 1, **kwargs},
        input_data=pair(),
        expected_output_shape=shape,
        expected_num_non_trainable_weights=non_trainable,
        expected_num_seed_generators=1,
        expected_num_losses=losses,
        deterministic_kwargs={"inference": "mean"},
    )


def test_sampling_statistics():
    mean = np.array([[1.0, -2.0, 0.0]], "float32")
    log_var = np.log(np.array([[0.25, 4.0, 1.0]], "float32"))
    layer = ReparamSampling(num_samples=200_000, kl_weight=0.0, seed=42)
    z = to_numpy(layer([mean, log_var], training=True))[0]
    assert z.shape == (200_000, 3)
    std = np.sqrt(np.exp(log_var[0]))
    # 5 standard errors of the sample mean and of the sample std.
    np.testing.assert_array_less(
        np.abs(z.mean(0) - mean[0]), 5 * std / np.sqrt(len(z))
    )
    np.testing.assert_array_less(
        np.abs(z.std(0) - std), 5 * std / np.sqrt(2 * len(z))
    )
    # Independent dimensions.
    corr = np.corrcoef(z.T)[np.triu_indices(3, 1)]
    np.testing.assert_array_less(np.abs(corr), 0.02)


def test_seed_reproducibility_and_fresh_noise():
    inputs = pair()
    a = ReparamSampling(seed=7, kl_weight=0.0)
    b = ReparamSampling(seed=7, kl_weight=0.0)
    first_a, first_b = to_numpy(a(inputs)), to_numpy(b(inputs))
    np.testing.assert_array_equal(first_a, first_b)
    assert not np.allclose(first_a, to_numpy(a(inputs)))  # The state moves on.
    c = ReparamSampling(seed=8, kl_weight=0.0)
    assert not np.allclose(first_a, to_numpy(c(inputs)))


def test_fresh_noise_in_compiled_functions():
    """Every compiled call draws new noise (the JAX tracing footgun)."""
    mean_in, log_var_in = keras.Input((3,)), keras.Input((3,))

    def make():
        z = ReparamSampling(seed=3, kl_weight=0.0)([mean_in, log_var_in])
        return keras.Model([mean_in, log_var_in], z)

    model = make()
    inputs = pair()
    first = model.predict(inputs, verbose=0)
    second = model.predict(inputs, verbose=0)
    assert not np.allclose(first, second)
    np.testing.assert_allclose(
        make().predict(inputs, verbose=0), first, rtol=1e-6
    )


def test_inference_modes():
    mean, log_var = pair()
    layer = ReparamSampling(inference="mean", num_samples=2, kl_weight=0.0)
    z = to_numpy(layer([mean, log_var], training=False))
    np.testing.assert_array_equal(z, np.stack([mean, mean], axis=1))
    z = to_numpy(layer([mean, log_var], training=True))
    assert not np.allclose(z[:, 0], mean)
    layer = ReparamSampling(inference="sample", kl_weight=0.0, seed=0)
    assert not np.allclose(
        to_numpy(layer([mean, log_var], training=False)), mean
    )


def test_kl_loss_value_and_warmup():
    mean, log_var = pair()
    kl = to_numpy(ops.kl_divergence_standard_normal(mean, log_var)).mean()
    layer = ReparamSampling(kl_weight=2.0)
    layer([mean, log_var])
    np.testing.assert_allclose(to_numpy(layer.losses[0]), 2.0 * kl, rtol=1e-6)

    layer = ReparamSampling(kl_weight=2.0, kl_warmup_steps=4)
    weights = []
    for _ in range(6):
        layer([mean, log_var], training=True)
        weights.append(float(to_numpy(layer.losses[0])) / kl)
    np.testing.assert_allclose(
        weights, [0.0, 0.5, 1.0, 1.5, 2.0, 2.0], rtol=1e-5
    )
    layer([mean, log_var], training=False)  # Inference does not count.
    assert int(to_numpy(layer.kl_step)) == 6


def test_extreme_log_var_is_finite():
    mean = np.zeros((2, 3), "float32")
    layer = ReparamSampling(seed=0)
    for value in (1e4, -1e4):
        z = layer([mean, np.full((2, 3), value, "float32")], training=True)
        assert np.isfinite(to_numpy(z)).all()
        assert np.isfinite(to_numpy(layer.losses[0]))


def test_bad_inputs():
    mean, log_var = pair()
    layer = ReparamSampling()
    with pytest.raises(ValueError, match="exactly two tensors.*Received 1"):
        layer(mean)
    with pytest.raises(ValueError, match="exactly two tensors.*Received 3"):
        layer([mean, log_var, mean])
    with pytest.raises(
        ValueError, match=r"mean.shape=\(4, 3\), log_var.shape=\(4, 2\)"
    ):
        layer([mean, log_var[:, :2]])
    with pytest.raises(ValueError, match="Received 3"):
        layer([keras.Input((3,))] * 3)
    with pytest.raises(ValueError, match="num_samples=0"):
        ReparamSampling(num_samples=0)
    with pytest.raises(ValueError, match="kl_weight=-1"):
        ReparamSampling(kl_weight=-1)
    with pytest.raises(ValueError, match="kl_warmup_steps=1.5"):
        ReparamSampling(kl_warmup_steps=1.5)
    with pytest.raises(ValueError, match="inference='mode'"):
        ReparamSampling(inference="mode")


def test_mixed_precision_sampling():
    keras.config.set_dtype_policy("mixed_bfloat16")
    layer = ReparamSampling(seed=0)
    mean, log_var = (kops.cast(x, "bfloat16") for x in pair())
    z = layer([mean, log_var], training=True)
    assert dtype_name(z) == "bfloat16"
    assert dtype_name(layer.losses[0]) == "float32"
    assert np.isfinite(to_numpy(kops.cast(z, "float32"))).all()


def build_drop_in_functional(seed=0):
    inputs = keras.Input((6,))
    h = keras.layers.Dense(8, activation="tanh")(inputs)
    mean, log_var = GaussianEncoderHead(latent_dim=2)(h)
    z = ReparamSampling(kl_weight=0.5, inference="mean", seed=seed)(
        [mean, log_var]
    )
    outputs = keras.layers.Dense(6)(z)
    return keras.Model(inputs, outputs)


class DropInSubclassed(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = keras.layers.Dense(8, activation="tanh")
        self.head = GaussianEncoderHead(latent_dim=2)
        self.sampling = ReparamSampling(kl_weight=0.5, inference="mean", seed=0)
        self.out = keras.layers.Dense(6)

    def call(self, x, training=None):
        mean, log_var = self.head(self.hidden(x))
        return self.out(self.sampling([mean, log_var], training=training))


@pytest.mark.parametrize("kind", ["functional", "subclassed"])
def test_drop_in_kl_is_part_of_the_loss(kind):
    """The add_loss KL reaches fit and evaluate on every backend.

    (keras #19430, #19560.)
    """
    model = (
        build_drop_in_functional()
        if kind == "functional"
        else DropInSubclassed()
    )
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6)).astype("float32")
    history = model.fit(x, x, epochs=2, batch_size=16, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    # evaluate: mse + 0.5 * KL, with the mean decoded (inference="mean").
    loss = model.evaluate(x, x, batch_size=64, verbose=0)
    y = model.predict(x, verbose=0)
    head = model.layers[2] if kind == "functional" else model.head
    hidden = model.layers[1] if kind == "functional" else model.hidden
    mean, log_var = head(hidden(x))
    kl = to_numpy(ops.kl_divergence_standard_normal(mean, log_var)).mean()
    np.testing.assert_allclose(
        loss, np.mean((y - x) ** 2) + 0.5 * kl, rtol=1e-4
    )
