import importlib.util

import keras
import numpy as np
import pytest
from keras import ops as kops

from keras_vae import distributions
from keras_vae import ops
from keras_vae import priors
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


# ----------------------------------------------------------------------
# Priors other than N(0, I).


@keras.saving.register_keras_serializable(package="keras_vae_tests")
class TwoBumps(priors.Prior):
    """A test prior without a closed-form KL: a mixture of two unit
    Gaussians whose means are trainable weights."""

    def build(self, latent_shape):
        super().build(latent_shape)
        self.means = self.add_weight(
            name="means",
            shape=(2, self.latent_dim),
            initializer=keras.initializers.Constant([[-1.0], [1.0]]),
            autocast=False,
        )

    def distribution(self, encode=None):
        components = distributions.Normal(self.means, 1.0)
        return distributions.MixtureSameFamily(
            kops.zeros((2,), "float32"), components
        )


@keras.saving.register_keras_serializable(package="keras_vae_tests")
class NeedsEncoder(priors.StandardNormal):
    requires_encoder = True


def two_bumps_log_prob(z, means):
    """log p(z) of `TwoBumps` in numpy, z (..., L)."""
    log_components = -0.5 * (
        np.square(z[..., None, :] - means) + np.log(2 * np.pi)
    ).sum(-1)
    return np.logaddexp(log_components[..., 0], log_components[..., 1]) - (
        np.log(2.0)
    )


def normal_log_prob(z, mean, log_var):
    return -0.5 * (
        np.square(z - mean) / np.exp(log_var) + log_var + np.log(2 * np.pi)
    ).sum(-1)


@pytest.mark.parametrize(
    "kwargs, shape",
    [({}, (4, 3)), ({"num_samples": 5, "kl_weight": 0.5}, (4, 5, 3))],
)
def test_layer_basics_with_a_trainable_prior(kwargs, shape):
    """The prior's weights are the layer's (trainable, trained by the KL
    in a fit step, saved in `.keras` files that load in safe mode)."""
    run_layer_test(
        ReparamSampling,
        {"seed": 1, "prior": TwoBumps(), **kwargs},
        input_data=pair(),
        expected_output_shape=shape,
        expected_num_trainable_weights=1,
        expected_num_seed_generators=1,
        expected_num_losses=1,
        deterministic_kwargs={"inference": "mean"},
    )


def test_default_prior_is_unchanged():
    """`prior=None` (the default) and `"standard_normal"` draw the same
    noise and give the same closed-form KL as before; None adds no
    sub-layer and stays None in the config (old configs load)."""
    mean, log_var = pair()
    kl = to_numpy(ops.kl_divergence_standard_normal(mean, log_var)).mean()
    outputs = {}
    for prior in (None, "standard_normal", priors.StandardNormal()):
        layer = ReparamSampling(kl_weight=2.0, seed=5, prior=prior)
        z = layer([mean, log_var], training=True)
        outputs[repr(prior)] = to_numpy(z)
        np.testing.assert_allclose(
            to_numpy(layer.losses[0]), 2.0 * kl, rtol=1e-5
        )
    first = outputs.pop("None")
    for z in outputs.values():
        np.testing.assert_array_equal(z, first)
    layer = ReparamSampling(seed=5)
    assert layer.prior is None and layer.get_config()["prior"] is None
    config = layer.get_config()
    del config["prior"]  # A config of an earlier version.
    revived = ReparamSampling.from_config(config)
    assert revived.prior is None
    np.testing.assert_array_equal(
        to_numpy(revived([mean, log_var], training=True)), first
    )


@pytest.mark.parametrize("num_samples", [1, 3])
def test_monte_carlo_kl_on_the_drawn_z(num_samples):
    """Without a closed form the loss is kl_weight * mean of
    log q(z) - log p(z) on the very draws the layer returns."""
    mean, log_var = pair()
    layer = ReparamSampling(
        kl_weight=0.5, num_samples=num_samples, seed=3, prior=TwoBumps()
    )
    z = to_numpy(layer([mean, log_var], training=True))
    means = to_numpy(layer.prior.means)
    if num_samples > 1:
        mean, log_var = mean[:, None], log_var[:, None]
    estimate = normal_log_prob(z, mean, log_var) - two_bumps_log_prob(z, means)
    if num_samples > 1:
        estimate = estimate.mean(1)
    np.testing.assert_allclose(
        to_numpy(layer.losses[0]), 0.5 * estimate.mean(), rtol=1e-4
    )


def test_monte_carlo_kl_is_unbiased():
    """With a one-component mixture (a Normal in disguise, so no closed
    form) the Monte Carlo KL averages to the closed form, within 5
    standard errors."""

    class OneBump(priors.Prior):
        def distribution(self, encode=None):
            components = distributions.Normal(
                kops.zeros((1, self.latent_dim)), 1.0
            )
            return distributions.MixtureSameFamily(
                kops.zeros((1,), "float32"), components
            )

    mean = np.array([[0.5, -1.0]], "float32")
    log_var = np.array([[-0.5, 0.3]], "float32")
    exact = float(to_numpy(ops.kl_divergence_standard_normal(mean, log_var))[0])
    layer = ReparamSampling(num_samples=20_000, seed=0, prior=OneBump())
    z = to_numpy(layer([mean, log_var], training=True))[0]
    draws = normal_log_prob(z, mean[0], log_var[0]) - normal_log_prob(
        z, 0.0, 0.0
    )
    estimate = float(to_numpy(layer.losses[0]))
    np.testing.assert_allclose(estimate, draws.mean(), rtol=1e-4)
    assert abs(estimate - exact) < 5 * draws.std() / np.sqrt(len(draws))


def test_monte_carlo_kl_at_inference_uses_a_draw():
    """inference="mean" returns the mean, while the KL estimate still
    comes from a draw of q (not from log q(mean) - log p(mean))."""
    mean, log_var = pair()
    layer = ReparamSampling(seed=0, inference="mean", prior=TwoBumps())
    z = to_numpy(layer([mean, log_var], training=False))
    np.testing.assert_array_equal(z, mean)
    at_mean = normal_log_prob(mean, mean, log_var) - two_bumps_log_prob(
        mean, to_numpy(layer.prior.means)
    )
    loss = float(to_numpy(layer.losses[0]))
    assert np.isfinite(loss) and not np.isclose(loss, at_mean.mean())


def test_closed_form_with_a_prior_that_has_one():
    """A prior whose pair has a registered closed form uses it."""

    class Shifted(priors.Prior):
        def distribution(self, encode=None):
            return distributions.Normal(
                kops.ones((self.latent_dim,)), kops.ones((self.latent_dim,))
            )

    mean, log_var = pair()
    layer = ReparamSampling(seed=0, prior=Shifted())
    layer([mean, log_var], training=True)
    exact = 0.5 * (np.exp(log_var) + np.square(mean - 1.0) - 1.0 - log_var)
    np.testing.assert_allclose(
        to_numpy(layer.losses[0]), exact.sum(-1).mean(), rtol=1e-5
    )


def test_prior_errors():
    mean, log_var = pair()
    with pytest.raises(ValueError, match="requires_encoder.*VAE"):
        ReparamSampling(prior=NeedsEncoder())
    with pytest.raises(ValueError, match="prior"):
        ReparamSampling(prior="no_such_prior")
    layer = ReparamSampling(prior=TwoBumps(latent_dim=5))
    with pytest.raises(ValueError, match="latent_dim=3"):
        layer([mean, log_var])
    layer = ReparamSampling(prior=TwoBumps())
    with pytest.raises(ValueError, match=r"\(batch, latent_dim\)"):
        layer([mean[:, None], log_var[:, None]])


def test_prior_from_a_config_dict():
    layer = ReparamSampling(seed=0, prior=TwoBumps(name="bumps"))
    layer(pair())
    config = layer.get_config()
    assert config["prior"]["config"]["name"] == "bumps"
    revived = ReparamSampling.from_config(config)
    assert isinstance(revived.prior, TwoBumps)
    assert revived.get_config() == config


@pytest.mark.skipif(
    importlib.util.find_spec("keras_vae.priors.vamp_prior") is None,
    reason="keras_vae.priors.vamp_prior is not in this tree",
)
def test_vamp_prior_is_refused():
    from keras_vae.priors import VampPrior

    with pytest.raises(ValueError, match="VampPrior.*encoder"):
        ReparamSampling(prior=VampPrior(5))


@pytest.mark.skipif(
    importlib.util.find_spec("keras_vae.priors.mixture_of_gaussians") is None,
    reason="keras_vae.priors.mixture_of_gaussians is not in this tree",
)
def test_mixture_of_gaussians_prior_trains_in_a_functional_model(
    tmp_model_path,
):
    from keras_vae.priors import MixtureOfGaussians

    inputs = keras.Input((6,))
    h = keras.layers.Dense(8, activation="tanh")(inputs)
    mean, log_var = GaussianEncoderHead(latent_dim=2)(h)
    sampling = ReparamSampling(
        seed=0, inference="mean", prior=MixtureOfGaussians(4)
    )
    z = sampling([mean, log_var])
    model = keras.Model(inputs, keras.layers.Dense(6)(z))
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).normal(size=(64, 6)).astype("float32")
    before = [to_numpy(w) for w in sampling.prior.trainable_weights]
    assert len(before) == 3  # means, log-variances, logits
    history = model.fit(x, x, epochs=2, batch_size=16, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    for old, new in zip(before, sampling.prior.trainable_weights):
        assert not np.allclose(old, to_numpy(new))
    model.save(tmp_model_path)
    revived = keras.saving.load_model(tmp_model_path)
    np.testing.assert_allclose(
        revived.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6
    )
