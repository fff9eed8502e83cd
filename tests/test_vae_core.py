"""The shared VAE test (`run_vae_test`) on every configuration of the
probabilistic core, and the bound check on a linear-Gaussian VAE whose
log p(x) is known exactly.

Tiny models and data (6 values, latent size 2, 64 examples): the file runs
in well under a minute per backend. Parts that other modules provide
(priors, posteriors, likelihoods) are tested when their module is in the
tree, and skipped, saying which module is missing, when it is not.
"""

import importlib
import importlib.util
import math

import keras
import numpy as np
import pytest

from keras_vae import likelihoods
from keras_vae.models.vae import VAE
from keras_vae.testing import check_bounds
from keras_vae.testing import exact_log_likelihood
from keras_vae.testing import linear_gaussian_data
from keras_vae.testing import linear_gaussian_vae
from keras_vae.testing import run_vae_test
from keras_vae.testing import set_exact_posterior
from keras_vae.testing import to_numpy

DATA_DIM = 6
LATENT_DIM = 2
NUM_EXAMPLES = 64


def _module(name):
    """The module `name`, or None if it is not in the tree."""
    try:
        found = importlib.util.find_spec(name)
    except ModuleNotFoundError:
        found = None
    return None if found is None else importlib.import_module(name)


def _needs(module_name, attribute):
    """`module.attribute`, or a skip naming the missing module."""
    module = _module(module_name)
    if module is None or not hasattr(module, attribute):
        pytest.skip(
            f"{module_name}.{attribute} is not in this tree (another part "
            "of the probabilistic core provides it)"
        )
    return getattr(module, attribute)


# ----------------------------------------------------------------------
# Tiny models and data.


def binary_data(shape=(DATA_DIM,), seed=0):
    rng = np.random.default_rng(seed)
    probs = rng.uniform(0.1, 0.9, size=shape)
    return (rng.random((NUM_EXAMPLES,) + shape) < probs).astype("float32")


def real_data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(NUM_EXAMPLES, DATA_DIM)).astype("float32")


def vae_kwargs(likelihood="bernoulli", data_shape=(DATA_DIM,), **kwargs):
    """Fresh encoder and decoder, the decoder's output shaped for the
    likelihood (its `params_shape`)."""
    params_shape = likelihoods.get(likelihood).params_shape(data_shape)
    encoder = keras.Sequential(
        [
            keras.Input(data_shape),
            keras.layers.Flatten(),
            keras.layers.Dense(8, activation="tanh"),
        ],
        name="encoder",
    )
    decoder = keras.Sequential(
        [
            keras.Input((LATENT_DIM,)),
            keras.layers.Dense(8, activation="tanh"),
            keras.layers.Dense(math.prod(params_shape)),
            keras.layers.Reshape(params_shape),
        ],
        name="decoder",
    )
    return {
        "encoder": encoder,
        "decoder": decoder,
        "latent_dim": LATENT_DIM,
        "likelihood": likelihood,
        "seed": 0,
        **kwargs,
    }


# ----------------------------------------------------------------------
# run_vae_test on each configuration.


@pytest.mark.parametrize(
    "likelihood, data",
    [
        ("bernoulli", binary_data),
        ("gaussian", real_data),
        ("gaussian_learned", real_data),
        (lambda: likelihoods.Gaussian("predicted"), real_data),
    ],
    ids=["bernoulli", "gaussian", "gaussian_learned", "gaussian_predicted"],
)
def test_likelihoods(likelihood, data):
    if callable(likelihood):
        likelihood = likelihood()
    run_vae_test(VAE, vae_kwargs(likelihood), data())


def test_default_configuration():
    """The defaults: Bernoulli, ELBO, N(0, I), diagonal Gaussian (their
    bounds: the linear-Gaussian tests below)."""
    kwargs = vae_kwargs()
    del kwargs["likelihood"]
    run_vae_test(VAE, kwargs, binary_data())


def test_iwae_objective():
    run_vae_test(
        VAE, vae_kwargs(objective="iwae", num_samples=3), binary_data()
    )


def test_beta_and_warmup():
    run_vae_test(VAE, vae_kwargs(beta=0.5, kl_warmup_steps=10), binary_data())


def test_mixture_of_gaussians_prior():
    prior = _needs("keras_vae.priors", "MixtureOfGaussians")
    run_vae_test(
        VAE,
        vae_kwargs(prior=prior(4)),
        binary_data(),
        run_bound_check=True,
    )


def test_vamp_prior():
    prior = _needs("keras_vae.priors", "VampPrior")
    run_vae_test(
        VAE,
        vae_kwargs(prior=prior(5)),
        binary_data(),
        run_bound_check=True,
    )


def test_inverse_autoregressive_flow_posterior():
    posterior = _needs("keras_vae.posteriors", "InverseAutoregressiveFlow")
    run_vae_test(
        VAE,
        vae_kwargs(
            posterior=posterior(
                LATENT_DIM, num_steps=2, hidden_units=(8,), context_units=4
            )
        ),
        binary_data(),
        run_bound_check=True,
    )


def data_for(likelihood, shape, seed=0):
    """Data in the likelihood's support (whole numbers if it models
    them): a few levels of a bounded support, counts, or reals."""
    rng = np.random.default_rng(seed)
    size = (NUM_EXAMPLES,) + shape
    if likelihood.support is None:
        return rng.normal(size=size).astype("float32")
    low, high = (float(v) for v in likelihood.support)
    if likelihood.integer:
        top = min(high, low + 9.0)  # Unbounded counts: small ones.
        values = rng.integers(int(low), int(top) + 1, size=size)
        return values.astype("float32")
    if not math.isfinite(high):
        return (low + rng.exponential(size=size)).astype("float32")
    levels = rng.integers(0, 256, size=size) / 255.0  # 8-bit levels.
    return (low + (high - low) * levels).astype("float32")


@pytest.mark.parametrize(
    "name, alias, shape",
    [
        ("Categorical", "categorical", (DATA_DIM,)),
        ("Poisson", "poisson", (DATA_DIM,)),
        (
            "DiscretizedLogisticMixture",
            "discretized_logistic_mixture",
            (2, 2, 3),  # Tiny 2x2 RGB images.
        ),
    ],
)
def test_other_likelihoods(name, alias, shape):
    """Each with its defaults (the alias of `likelihoods.get`) on tiny
    data in its support."""
    _needs("keras_vae.likelihoods", name)
    likelihood = likelihoods.get(alias)
    x = data_for(likelihood, shape)
    run_vae_test(VAE, vae_kwargs(likelihood, data_shape=shape), x)


# ----------------------------------------------------------------------
# The linear-Gaussian VAE: log p(x) known exactly.


def test_exact_log_likelihood_against_quadrature():
    """The closed form against an independent numerical integral of
    p(x|z) p(z) over a one-dimensional latent space."""
    vae = linear_gaussian_vae(data_dim=3, latent_dim=1, variance=0.5, seed=2)
    x = linear_gaussian_data(vae, 5, seed=3).astype("float64")
    kernel = to_numpy(vae.decoder.layers[-1].kernel).astype("float64")
    bias = to_numpy(vae.decoder.layers[-1].bias).astype("float64")
    z = np.linspace(-12.0, 12.0, 20001)
    dz = z[1] - z[0]
    means = z[:, None] * kernel[0] + bias  # (grid, 3)
    log_px_z = -0.5 * (
        np.square(x[:, None, :] - means) / 0.5 + np.log(2 * np.pi * 0.5)
    ).sum(-1)
    log_pz = -0.5 * (z**2 + np.log(2 * np.pi))
    integral = np.log(np.exp(log_px_z + log_pz).sum(1) * dz)
    np.testing.assert_allclose(
        exact_log_likelihood(vae, x), integral, rtol=1e-8
    )


def test_linear_gaussian_run_vae_test_with_bounds():
    """The whole shared test, with the exact bound check: starting from the
    true posterior, after one training step ELBO, IWAE bound and
    log_likelihood all sit at log p(x) (of the trained decoder)."""
    x = linear_gaussian_data(linear_gaussian_vae(seed=0), NUM_EXAMPLES, 1)
    run_vae_test(
        linear_gaussian_vae,
        {"data_dim": DATA_DIM, "latent_dim": LATENT_DIM, "seed": 0},
        x,
        run_bound_check=True,
        exact_log_likelihood=exact_log_likelihood,
        bound_kwargs={"max_gap": 1e-3},
    )


def test_exact_posterior_makes_every_bound_exact():
    """With q(z|x) = p(z|x) every importance weight is p(x): the ELBO, the
    IWAE bound and log_likelihood equal log p(x), with no Monte Carlo
    noise, to float32 round-off. (Any error in a log-density's
    normalization would show here.)"""
    vae = linear_gaussian_vae(seed=0)
    x = linear_gaussian_data(vae, NUM_EXAMPLES, seed=1)
    exact = exact_log_likelihood(vae, x)
    result = check_bounds(vae, x, exact, max_gap=1e-4)
    for name in ("elbo", "iwae", "log_likelihood"):
        np.testing.assert_allclose(
            result[name]["per_example"], exact, rtol=1e-5, atol=1e-5
        )
        assert result[name]["standard_error"] < 1e-5


def test_bounds_are_ordered_and_the_check_has_teeth():
    """With a worse posterior, ELBO < IWAE(8) < log p(x), the gaps far
    beyond Monte Carlo error, and check_bounds refuses a wrong exact
    value."""
    vae = linear_gaussian_vae(seed=0)
    head = vae.posterior
    bias = to_numpy(head.bias)
    bias[:LATENT_DIM] += 0.3  # Shifted means.
    bias[LATENT_DIM:] += 1.0  # Variances e times too large.
    head.bias.assign(bias)
    x = linear_gaussian_data(vae, NUM_EXAMPLES, seed=1)
    exact = exact_log_likelihood(vae, x)
    result = check_bounds(vae, x, exact)
    elbo, iwae = result["elbo"], result["iwae"]
    gap = iwae["mean"] - elbo["mean"]
    assert gap > 10 * math.hypot(elbo["standard_error"], iwae["standard_error"])
    assert exact.mean() - iwae["mean"] > 5 * iwae["standard_error"]
    with pytest.raises(AssertionError, match="IWAE bound.*> exact"):
        check_bounds(vae, x, exact - 0.5)
    with pytest.raises(AssertionError, match="more than max_gap"):
        check_bounds(vae, x, exact + 0.5)


def test_training_learns_the_true_posterior():
    """From the encoder's initial weights, a short fit of the linear VAE
    closes most of the gap between the ELBO and log p(x), and
    log_likelihood finds log p(x)."""
    vae = linear_gaussian_vae(seed=0, posterior="initial")
    x = linear_gaussian_data(vae, NUM_EXAMPLES, seed=1)
    gap_before = (
        exact_log_likelihood(vae, x).mean()
        - (check_bounds(vae, x)["elbo"]["mean"])
    )
    vae.compile(optimizer=keras.optimizers.Adam(0.05))
    steps = 60  # In one epoch (an epoch's overhead is the larger cost).
    vae.fit(np.tile(x, (steps, 1)), batch_size=NUM_EXAMPLES, verbose=0)
    exact = exact_log_likelihood(vae, x)  # Of the trained decoder.
    after = check_bounds(vae, x, exact, max_gap=0.01)
    gap_after = after["exact"] - after["elbo"]["mean"]
    assert gap_after < 0.2 * gap_before, (gap_before, gap_after)


def test_set_exact_posterior():
    """`posterior="initial"` then `set_exact_posterior` is
    `posterior="exact"`."""
    exact = linear_gaussian_vae(seed=3)
    vae = linear_gaussian_vae(seed=3, posterior="initial")
    assert not np.allclose(
        to_numpy(vae.posterior.kernel), to_numpy(exact.posterior.kernel)
    )
    set_exact_posterior(vae)
    for name in ("kernel", "bias"):
        np.testing.assert_array_equal(
            to_numpy(getattr(vae.posterior, name)),
            to_numpy(getattr(exact.posterior, name)),
        )


def test_linear_gaussian_helpers_refuse_other_models():
    vae = VAE(**vae_kwargs())
    vae(binary_data()[:1])
    with pytest.raises(ValueError, match="Gaussian likelihood of fixed"):
        exact_log_likelihood(vae, binary_data())
    vae = VAE(**vae_kwargs("gaussian"))
    vae(real_data()[:1])
    with pytest.raises(ValueError, match="one `Dense` layer"):
        exact_log_likelihood(vae, real_data())
    with pytest.raises(ValueError, match="posterior"):
        linear_gaussian_vae(posterior="trained")
