"""The learnable priors: a mixture of Gaussians and the VampPrior."""

import os

import keras
import numpy as np
import pytest
from keras import ops
from scipy import special
from scipy import stats

from keras_vae import distributions
from keras_vae import priors
from keras_vae.priors import MixtureOfGaussians
from keras_vae.priors import VampPrior
from keras_vae.testing import check_config_round_trip
from keras_vae.testing import dtype_name
from keras_vae.testing import run_layer_test
from keras_vae.testing import to_numpy

LATENT = 3


def randomize(layer, seed=0, scale=0.7):
    rng = np.random.default_rng(seed)
    for weight in layer.weights:
        weight.assign(rng.normal(scale=scale, size=weight.shape))


def latents(shape=(2, 5), seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=shape + (LATENT,)).astype("float32")


def mixture_log_prob(z, log_weights, means, log_vars):
    """log sum_k w_k N(z; mu_k, diag(exp(log_var_k))), by scipy."""
    per_component = np.stack(
        [
            stats.multivariate_normal(mean, np.diag(np.exp(log_var))).logpdf(z)
            for mean, log_var in zip(means, log_vars, strict=True)
        ],
        axis=-1,
    )
    return special.logsumexp(per_component + log_weights, axis=-1)


# --- MixtureOfGaussians ----------------------------------------------------


def test_mixture_of_gaussians_log_prob_matches_scipy():
    prior = MixtureOfGaussians(num_components=4)
    prior.setup(LATENT)
    randomize(prior)
    z = latents()
    logits = to_numpy(prior.logits).astype("float64")
    expected = mixture_log_prob(
        z.astype("float64"),
        logits - special.logsumexp(logits),
        to_numpy(prior.means),
        to_numpy(prior.log_vars),
    )
    log_pz = prior(z)
    assert tuple(log_pz.shape) == (2, 5) and dtype_name(log_pz) == "float32"
    np.testing.assert_allclose(to_numpy(log_pz), expected, rtol=1e-5)
    p = prior.distribution()
    assert isinstance(p, distributions.MixtureSameFamily)
    assert p.batch_shape == () and p.event_shape == (LATENT,)


def test_mixture_of_gaussians_starts_spread_out_with_equal_weights():
    prior = MixtureOfGaussians(num_components=4, latent_dim=LATENT)
    prior.build((None, LATENT))
    means = to_numpy(prior.means)
    assert means.shape == (4, LATENT) and 0.3 < means.std() < 3.0
    np.testing.assert_array_equal(to_numpy(prior.log_vars), 0.0)
    np.testing.assert_array_equal(to_numpy(prior.logits), 0.0)
    z = prior.sample(5, seed=0)
    assert tuple(z.shape) == (5, LATENT)
    assert np.all(np.isfinite(to_numpy(z)))


def test_mixture_of_gaussians_layer_basics():
    run_layer_test(
        MixtureOfGaussians,
        {"num_components": 4, "latent_dim": LATENT},
        input_data=np.random.rand(5, LATENT).astype("float32"),
        expected_output_shape=(5,),
        expected_num_trainable_weights=3,
    )
    check_config_round_trip(
        MixtureOfGaussians(
            num_components=2,
            latent_dim=5,
            means_initializer="glorot_normal",
            log_vars_initializer="ones",
            logits_initializer="random_uniform",
            name="mog",
        )
    )


def test_setup_names_both_latent_sizes():
    prior = MixtureOfGaussians(latent_dim=3)
    with pytest.raises(ValueError, match="over 3 latent.*latent_dim=2"):
        prior.setup(2)
    prior.setup(3)  # Agrees: fine.
    assert prior.built


def test_mixture_of_gaussians_bad_arguments():
    with pytest.raises(ValueError, match="num_components=0"):
        MixtureOfGaussians(num_components=0)
    with pytest.raises(ValueError, match="latent_dim=-1"):
        MixtureOfGaussians(latent_dim=-1)


# --- VampPrior ---------------------------------------------------------------

DATA_SHAPE = (2, 3)  # Pseudo-inputs of any shape.
DATA_DIM = 6


class LinearEncoder:
    """A tiny encoder: `q(z|x) = N(x A + a, exp(x C + c))`, with numpy
    weights, as a function (like `VAE`'s `encode`) and in numpy."""

    def __init__(self, seed=2):
        rng = np.random.default_rng(seed)
        self.a = rng.normal(size=(DATA_DIM, LATENT)).astype("float32")
        self.a0 = rng.normal(size=(LATENT,)).astype("float32")
        self.c = 0.3 * rng.normal(size=(DATA_DIM, LATENT)).astype("float32")
        self.c0 = 0.3 * rng.normal(size=(LATENT,)).astype("float32")

    def __call__(self, x):
        x = ops.reshape(ops.cast(x, "float32"), (-1, DATA_DIM))
        return distributions.Normal.from_log_var(
            ops.add(ops.matmul(x, self.a), self.a0),
            ops.add(ops.matmul(x, self.c), self.c0),
        )

    def numpy(self, x):
        x = x.reshape(-1, DATA_DIM).astype("float64")
        return x @ self.a + self.a0, x @ self.c + self.c0


@pytest.mark.parametrize("activation", [None, "sigmoid"])
def test_vamp_prior_log_prob_is_the_mixture_of_posteriors(activation):
    prior = VampPrior(
        num_components=4,
        data_shape=DATA_SHAPE,
        pseudo_input_activation=activation,
    )
    prior.setup(LATENT)
    randomize(prior)
    encode = LinearEncoder()
    u = to_numpy(prior.pseudo_inputs).astype("float64")
    assert u.shape == (4,) + DATA_SHAPE
    if activation == "sigmoid":
        u = special.expit(u)
    means, log_vars = encode.numpy(u)
    z = latents()
    expected = mixture_log_prob(
        z.astype("float64"), np.full(4, -np.log(4.0)), means, log_vars
    )
    log_pz = prior(z, encode=encode)
    assert tuple(log_pz.shape) == (2, 5) and dtype_name(log_pz) == "float32"
    np.testing.assert_allclose(to_numpy(log_pz), expected, rtol=1e-5)
    z = prior.sample(5, seed=0, encode=encode)
    assert tuple(z.shape) == (5, LATENT)


def test_vamp_prior_takes_the_data_shape_from_setup():
    prior = VampPrior(num_components=3)
    prior.setup(LATENT, data_shape=DATA_SHAPE)
    assert tuple(prior.pseudo_inputs.shape) == (3,) + DATA_SHAPE
    assert prior.get_config()["data_shape"] == list(DATA_SHAPE)
    prior.setup(LATENT, data_shape=DATA_SHAPE)  # Again: fine.
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(6,\)"):
        prior.setup(LATENT, data_shape=(6,))


def test_vamp_prior_errors_teach():
    with pytest.raises(ValueError, match="data_shape=..."):
        VampPrior(num_components=3).setup(LATENT)
    prior = VampPrior(num_components=3, data_shape=DATA_SHAPE)
    prior.setup(LATENT)
    with pytest.raises(ValueError, match="needs `encode`|need `encode`"):
        prior.distribution()
    with pytest.raises(ValueError, match="shaped \\(3, 3\\)"):
        prior.distribution(
            lambda x: distributions.Normal(ops.zeros((3, 2)), ops.ones((3, 2)))
        )
    with pytest.raises(ValueError, match="data_shape=\\(0, 2\\)"):
        VampPrior(data_shape=(0, 2))
    with pytest.raises(ValueError, match="num_components=0"):
        VampPrior(num_components=0)
    assert VampPrior.requires_encoder


def test_vamp_prior_config_round_trip():
    check_config_round_trip(
        VampPrior(
            num_components=7,
            data_shape=DATA_SHAPE,
            latent_dim=4,
            pseudo_input_initializer="zeros",
            pseudo_input_activation="sigmoid",
        )
    )
    check_config_round_trip(VampPrior())


@keras.saving.register_keras_serializable(package="keras_vae_tests")
class VampHolder(keras.Model):
    """A tiny model with a linear encoder and a VampPrior: `log p(z)`."""

    def __init__(self, prior, **kwargs):
        super().__init__(**kwargs)
        self.prior = prior
        self.encoder = keras.layers.Dense(2 * LATENT, name="encoder")

    def build(self, z_shape):
        self.encoder.build((None, DATA_DIM))
        self.prior.setup(LATENT)

    def encode(self, x):
        h = self.encoder(ops.reshape(x, (-1, DATA_DIM)))
        return distributions.Normal.from_log_var(h[:, :LATENT], h[:, LATENT:])

    def call(self, z):
        return self.prior(z, encode=self.encode)

    def get_config(self):
        config = super().get_config()
        config["prior"] = keras.saving.serialize_keras_object(self.prior)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["prior"] = keras.saving.deserialize_keras_object(config["prior"])
        return cls(**config)


def test_vamp_prior_trains_and_saves(tmp_path):
    model = VampHolder(
        VampPrior(
            num_components=4,
            data_shape=DATA_SHAPE,
            pseudo_input_activation="sigmoid",
        )
    )
    z = latents(shape=(8,))
    model(z)
    before = to_numpy(model.prior.pseudo_inputs)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    history = model.fit(z, np.zeros(8, "float32"), batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert not np.allclose(before, to_numpy(model.prior.pseudo_inputs))
    path = os.path.join(tmp_path, "vamp.keras")
    model.save(path)
    revived = keras.saving.load_model(path)
    assert isinstance(revived.prior, VampPrior)
    assert revived.prior.data_shape == DATA_SHAPE
    np.testing.assert_allclose(
        to_numpy(revived(z)), to_numpy(model(z)), rtol=1e-6, atol=1e-6
    )


# --- Both, and `get` -------------------------------------------------------


def test_priors_under_mixed_bfloat16():
    keras.config.set_dtype_policy("mixed_bfloat16")
    z = latents()
    mixture = MixtureOfGaussians(num_components=3)
    mixture.setup(LATENT)
    model = VampHolder(VampPrior(num_components=3, data_shape=DATA_SHAPE))
    assert model.encoder.compute_dtype == "bfloat16"
    for log_pz in (mixture(z), model(z)):
        assert dtype_name(log_pz) == "float32"
        assert np.all(np.isfinite(to_numpy(log_pz)))
    assert all(dtype_name(w) == "float32" for w in model.prior.weights)


def test_get():
    assert isinstance(priors.get("mixture_of_gaussians"), MixtureOfGaussians)
    assert isinstance(priors.get("vamp_prior"), VampPrior)
    assert isinstance(priors.get(None), priors.StandardNormal)
    prior = VampPrior(num_components=9)
    assert priors.get(prior) is prior
    revived = priors.get(keras.saving.serialize_keras_object(prior))
    assert isinstance(revived, VampPrior) and revived.num_components == 9
    with pytest.raises(ValueError, match="prior='flow'"):
        priors.get("flow")
