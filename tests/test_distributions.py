"""Distributions against independent references (scipy, numpy by hand).

Sampling statistics use fixed seeds and bounds of several standard
errors, so they cannot flake; each backend draws its own numbers.
"""

import keras
import numpy as np
import pytest
from keras import ops
from scipy import integrate
from scipy import special
from scipy import stats

from keras_vae import distributions
from keras_vae.distributions import Bernoulli
from keras_vae.distributions import Categorical
from keras_vae.distributions import DiscretizedLogisticMixture
from keras_vae.distributions import MixtureSameFamily
from keras_vae.distributions import Normal
from keras_vae.distributions import Poisson
from keras_vae.distributions.poisson import _log_gamma
from keras_vae.distributions.poisson import _sample_by_rejection
from keras_vae.testing import dtype_name
from keras_vae.testing import to_numpy


def rand(*shape, scale=1.0, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=shape) * scale).astype("float32")


def within(sample_stat, expected, standard_error, k=5.0):
    """`sample_stat` is within `k` standard errors of `expected`."""
    sample_stat, expected = np.asarray(sample_stat), np.asarray(expected)
    bound = k * np.asarray(standard_error) + 1e-6
    assert np.all(np.abs(sample_stat - expected) <= bound), (
        sample_stat,
        expected,
        bound,
    )


_JITTED = {}


def gradient(fn, x, *args):
    """d sum(fn(x, *args)) / dx on the current backend, as numpy. `fn`
    should be a module-level function: JAX compiles it once per shape."""
    backend = keras.backend.backend()
    x = np.asarray(x, "float32")
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        if fn not in _JITTED:
            _JITTED[fn] = jax.jit(jax.grad(lambda v, *a: jnp.sum(fn(v, *a))))
        return np.asarray(_JITTED[fn](jnp.asarray(x), *args))
    if backend == "tensorflow":
        import tensorflow as tf

        v = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(v)
            y = tf.reduce_sum(fn(v, *args))
        return tape.gradient(y, v).numpy()
    import torch

    v = torch.tensor(x, requires_grad=True)
    fn(v, *args).sum().backward()
    return v.grad.numpy()


def finite(x):
    return bool(np.all(np.isfinite(to_numpy(x))))


# Few shapes, shared between tests: JAX compiles every op anew for each new
# shape, which costs more than the tests' arithmetic. Categoricals and
# discretized logistics have a batch of (2, 3) values (6 classes, 3
# components), as in `all_distributions`; Poissons 8 rates with 12 counts
# each.
CLASSES = 6
COMPONENTS = 3


# --- Normal -----------------------------------------------------------------


def test_normal_log_prob_mean_entropy_match_scipy():
    loc, scale = rand(4, 3), np.exp(rand(4, 3, seed=1) * 0.5)
    x = rand(2, 4, 3, seed=2)
    q = Normal(loc, scale, event_ndims=1)
    expected = stats.norm(loc, scale).logpdf(x).sum(-1)
    np.testing.assert_allclose(to_numpy(q.log_prob(x)), expected, rtol=1e-5)
    np.testing.assert_allclose(to_numpy(q.mean()), loc)
    np.testing.assert_allclose(to_numpy(q.stddev()), scale, rtol=1e-6)
    np.testing.assert_allclose(
        to_numpy(q.entropy()),
        stats.norm(loc, scale).entropy().sum(-1),
        rtol=1e-5,
    )
    p = Normal.from_log_var(loc, 2 * np.log(scale), event_ndims=2)
    np.testing.assert_allclose(
        to_numpy(p.log_prob(x)), expected.sum(-1), rtol=1e-5
    )


def test_normal_sampling_statistics():
    loc, scale = np.array([-1.0, 0.0, 3.0]), np.array([0.5, 1.0, 2.0])
    n = 20000
    z = to_numpy(Normal(loc, scale).sample(seed=3, sample_shape=n))
    assert z.shape == (n, 3) and z.dtype == np.float32
    within(z.mean(0), loc, scale / np.sqrt(n))
    within(z.var(0), scale**2, scale**2 * np.sqrt(2.0 / n))


# --- Bernoulli --------------------------------------------------------------


def test_bernoulli_log_prob_and_mean_match_scipy():
    logits = rand(3, 5, scale=3.0)
    x = (rand(3, 5, seed=1) > 0).astype("float32")
    p = Bernoulli(logits, event_ndims=1)
    probs = special.expit(logits.astype("float64"))
    np.testing.assert_allclose(
        to_numpy(p.log_prob(x)),
        stats.bernoulli(probs).logpmf(x).sum(-1),
        rtol=1e-5,
    )
    np.testing.assert_allclose(to_numpy(p.mean()), probs, rtol=1e-5)
    # Extreme logits: finite.
    logits = np.array([[-1e4, -100, -30, 0, 30], [100, 1e4, 0, 0, 0]])
    p = Bernoulli(logits.astype("float32"), 1)
    for x in (0.0, 1.0):
        assert finite(p.log_prob(np.full((2, 5), x)))


def test_bernoulli_sampling_frequencies():
    probs = np.array([0.02, 0.3, 0.5, 0.9])
    n = 20000
    x = to_numpy(
        Bernoulli(special.logit(probs), 1).sample(seed=4, sample_shape=n)
    )
    assert x.shape == (n, 4) and set(np.unique(x)) <= {0.0, 1.0}
    within(x.mean(0), probs, np.sqrt(probs * (1 - probs) / n))


# --- MixtureSameFamily ------------------------------------------------------


def mixture():
    weights = np.array([0.2, 0.5, 0.3])
    locs = np.array([[-2.0, 0.0], [0.5, 1.0], [3.0, -1.0]], "float32")
    scales = np.array([[0.5, 1.0], [1.0, 0.3], [0.7, 0.7]], "float32")
    components = Normal(locs, scales, event_ndims=1)
    p = MixtureSameFamily(np.log(weights), components)
    return p, weights, locs, scales


def test_mixture_log_prob_and_mean_match_scipy():
    p, weights, locs, scales = mixture()
    x = rand(6, 2, scale=2.0)
    per_component = np.stack(
        [stats.norm(m, s).logpdf(x).sum(-1) for m, s in zip(locs, scales)],
        -1,
    )
    expected = special.logsumexp(per_component + np.log(weights), axis=-1)
    np.testing.assert_allclose(to_numpy(p.log_prob(x)), expected, rtol=1e-5)
    assert p.batch_shape == () and p.event_shape == (2,)
    np.testing.assert_allclose(
        to_numpy(p.mean()), weights @ locs, rtol=1e-5, atol=1e-6
    )


def test_mixture_sampling_statistics():
    _, weights, locs, scales = mixture()
    n = 30000
    # A batch of n mixtures (weights broadcast against the components'
    # batch shape), one draw each.
    p = MixtureSameFamily(
        np.log(weights),
        Normal(np.broadcast_to(locs, (n, 3, 2)), scales, event_ndims=1),
    )
    z = to_numpy(p.sample(seed=5))
    assert z.shape == (n, 2)
    mean = weights @ locs
    variance = weights @ (scales**2 + locs**2) - mean**2
    within(z.mean(0), mean, np.sqrt(variance / n))
    fourth = np.mean((z - mean) ** 4, axis=0)  # For the variance's error.
    within(z.var(0), variance, np.sqrt((fourth - variance**2) / n))


# --- Categorical ------------------------------------------------------------


def log_softmax(logits):
    logits = logits.astype("float64")
    return logits - special.logsumexp(logits, axis=-1, keepdims=True)


def test_categorical_log_prob_mean_mode_match_numpy():
    logits = rand(2, 3, CLASSES, scale=2.0)
    x = np.array([[0, 5, 2], [3, 3, 1]])
    p = Categorical(logits, event_ndims=1)
    assert p.batch_shape == (2,) and p.event_shape == (3,)
    assert p.num_classes == CLASSES
    log_probs = log_softmax(logits)
    expected = np.take_along_axis(log_probs, x[..., None], -1)[..., 0]
    np.testing.assert_allclose(
        to_numpy(p.log_prob(x)), expected.sum(-1), rtol=1e-5
    )
    # Floats are rounded to the nearest index.
    np.testing.assert_allclose(
        to_numpy(p.log_prob(x + 0.2)), expected.sum(-1), rtol=1e-5
    )
    probs = np.exp(log_probs)
    np.testing.assert_allclose(to_numpy(p.probs()), probs, rtol=1e-5)
    np.testing.assert_allclose(
        to_numpy(p.mean()), (probs * np.arange(CLASSES)).sum(-1), rtol=1e-5
    )
    mode = to_numpy(p.mode())
    assert dtype_name(p.mode()) == "int32"
    np.testing.assert_array_equal(mode, logits.argmax(-1))
    np.testing.assert_allclose(
        to_numpy(p.entropy()), stats.entropy(probs, axis=-1).sum(-1), rtol=1e-5
    )
    # Indices outside the classes are impossible.
    p = Categorical(np.zeros((2, 3, CLASSES)), event_ndims=0)
    log_p = to_numpy(p.log_prob(np.array([[-1, 0, 5], [6, 2, 300]])))
    np.testing.assert_allclose(log_p[0, 1:], np.log(1 / CLASSES), rtol=1e-6)
    np.testing.assert_allclose(log_p[1, 1], np.log(1 / CLASSES), rtol=1e-6)
    assert np.all(log_p[[0, 1, 1], [0, 0, 2]] == -np.inf)


def test_categorical_sampling_frequencies():
    probs = np.array([0.05, 0.15, 0.3, 0.5])
    n = 20000
    # n copies in the batch, one draw each (the default sample shape).
    p = Categorical(np.broadcast_to(np.log(probs), (n, 4)), event_ndims=0)
    x = p.sample(seed=6)
    assert dtype_name(x) == "int32" and tuple(x.shape) == (n,)
    counts = np.bincount(to_numpy(x), minlength=4)
    within(counts / n, probs, np.sqrt(probs * (1 - probs) / n))


def test_mixture_of_categoricals():
    # The docs' recipe for a mixture of categoricals per example.
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, COMPONENTS, 3, CLASSES)).astype("float32")
    weights = rng.normal(size=(2, COMPONENTS)).astype("float32")
    p = MixtureSameFamily(weights, Categorical(logits, 1))
    assert p.batch_shape == (2,) and p.event_shape == (3,)
    x = rng.integers(0, CLASSES, size=(2, 3))
    per_component = np.take_along_axis(
        log_softmax(logits), x[:, None, :, None], -1
    )[..., 0].sum(-1)
    expected = special.logsumexp(per_component + log_softmax(weights), -1)
    np.testing.assert_allclose(to_numpy(p.log_prob(x)), expected, rtol=1e-5)
    draws = p.sample(seed=0, sample_shape=(2, 2))
    assert dtype_name(draws) == "int32" and tuple(draws.shape) == (2, 2, 2, 3)


def test_categorical_extreme_logits_give_finite_values():
    big = np.array([-1e4, -100.0, 0.0, 30.0, 100.0, 1e4], "float32")
    for shift in range(CLASSES):  # Every class at every extreme.
        logits = np.roll(big, shift)
        p = Categorical(np.broadcast_to(logits, (2, 3, CLASSES)), 1)
        for x in range(CLASSES):
            assert finite(p.log_prob(np.full((2, 3), x)))
        assert finite(p.mean()) and finite(p.entropy())
        draws = to_numpy(p.sample(seed=0, sample_shape=(2, 2)))
        np.testing.assert_array_equal(draws, np.argmax(logits))


# --- DiscretizedLogisticMixture ---------------------------------------------


def dlm_reference(x, logits, means, log_scales, num_bins, low, high):
    """log P(x), in float64 with scipy's logistic log-cdf and log-sf: the
    bin's mass is `cdf(upper) - cdf(lower)`, computed left of the mean from
    the log-cdf and right of it from the log-sf (no underflow)."""
    x = np.asarray(x, "float64")[..., None]
    logits, means = logits.astype("float64"), means.astype("float64")
    scales = np.exp(np.clip(log_scales.astype("float64"), -7.0, 20.0))
    width = (high - low) / (num_bins - 1)
    upper = (x + width / 2 - means) / scales
    lower = (x - width / 2 - means) / scales
    logistic = stats.logistic
    first = np.isclose(x, low) + np.zeros_like(means, bool)
    last = np.isclose(x, high) + np.zeros_like(means, bool)
    with np.errstate(divide="ignore"):
        left = logistic.logcdf(upper) + np.log1p(
            -np.exp(logistic.logcdf(lower) - logistic.logcdf(upper))
        )
        right = logistic.logsf(lower) + np.log1p(
            -np.exp(logistic.logsf(upper) - logistic.logsf(lower))
        )
    interior = np.where(x < means, left, right)
    log_mass = np.where(
        first,
        logistic.logcdf(upper),
        np.where(last, logistic.logsf(lower), interior),
    )
    return special.logsumexp(log_softmax(logits) + log_mass, axis=-1)


def dlm_params(shape=(2, 3), seed=0):
    rng = np.random.default_rng(seed)
    full = shape + (COMPONENTS,)
    logits = rng.normal(size=full).astype("float32")
    means = rng.uniform(-0.2, 1.2, size=full).astype("float32")
    log_scales = rng.uniform(-4.5, -1.0, size=full).astype("float32")
    return logits, means, log_scales


def test_dlm_log_prob_matches_the_logistic_cdf():
    for seed in range(3):
        logits, means, log_scales = dlm_params(seed=seed)
        x = np.random.default_rng(seed).integers(0, 256, size=(2, 3)) / 255
        x[0, :2] = [0.0, 1.0]  # Both edge bins.
        p = DiscretizedLogisticMixture(logits, means, log_scales, 1)
        assert p.batch_shape == (2,) and p.event_shape == (3,)
        expected = dlm_reference(x, logits, means, log_scales, 256, 0, 1)
        np.testing.assert_allclose(
            to_numpy(p.log_prob(x)), expected.sum(-1), rtol=2e-5
        )


def test_dlm_gradients_match_finite_differences_of_the_reference():
    params = np.stack(dlm_params(seed=4))  # logits, means, log-scales
    x = np.random.default_rng(4).integers(0, 256, size=(2, 3)) / 255
    x[0, :2] = [0.0, 1.0]  # Both edge bins.
    grad = gradient(dlm_log_prob, params, x.astype("float32"))
    expected = np.zeros(params.shape)
    for index in np.ndindex(params.shape):
        step = np.zeros(params.shape)
        step[index] = 1e-6
        up, down = params + step, params - step
        expected[index] = (
            dlm_reference(x, *up, 256, 0, 1).sum()
            - dlm_reference(x, *down, 256, 0, 1).sum()
        ) / 2e-6
    np.testing.assert_allclose(grad, expected, rtol=2e-3, atol=2e-3)


def test_dlm_log_prob_in_far_tails_needs_no_fallback():
    # Bins 30-300 scales from every component: sigmoid differences
    # underflow in float32 there (PixelCNN++ falls back to the density);
    # the log-space bin mass stays exact.
    logits = rand(2, 3, COMPONENTS)
    means = np.array([[0.1, 0.9, 0.5], [0.5, 0.2, 0.8]], "float32")
    means = np.repeat(means[..., None], COMPONENTS, -1)
    means = means + np.array([0.0, 0.01, -0.01], "float32")
    log_scales = np.full((2, 3, COMPONENTS), np.log(0.002), "float32")
    x = np.array([[230, 25, 168], [87, 200, 50]]) / 255
    p = DiscretizedLogisticMixture(logits, means, log_scales, 0)
    expected = dlm_reference(x, logits, means, log_scales, 256, 0.0, 1.0)
    assert np.all(expected < -50)
    np.testing.assert_allclose(to_numpy(p.log_prob(x)), expected, rtol=1e-5)


def test_dlm_is_normalized_over_the_grid_and_off_grid_is_impossible():
    logits, means, log_scales = dlm_params(seed=2)
    for num_bins, low, high in ((256, 0.0, 1.0), (16, -1.0, 1.0)):
        p = DiscretizedLogisticMixture(
            logits, means, log_scales, 0, num_bins=num_bins, low=low, high=high
        )
        # 256 values either way (the 16-bin grid repeated): one shape.
        grid = np.resize(np.linspace(low, high, num_bins), 256)
        x = np.broadcast_to(grid[:, None, None], (256, 2, 3))
        log_p = to_numpy(p.log_prob(x))[:num_bins]
        np.testing.assert_allclose(np.exp(log_p).sum(0), 1.0, rtol=1e-5)
        expected = dlm_reference(
            x[:num_bins], logits, means, log_scales, num_bins, low, high
        )
        np.testing.assert_allclose(log_p, expected, rtol=1e-5)
        width = (high - low) / (num_bins - 1)
        # Half a bin or more outside [low, high]: no bin.
        beyond = np.array([0.6, 0.51, 0.49]) * width
        outside = np.stack([low - beyond, high + beyond])
        log_p = to_numpy(p.log_prob(outside))
        assert np.all(log_p[:, :2] == -np.inf) and np.all(log_p[:, 2] > -50)


def dlm_pmf(logits, means, log_scales, num_bins, low, high):
    grid = np.linspace(low, high, num_bins)
    return grid, np.exp(
        dlm_reference(grid, logits, means, log_scales, num_bins, low, high)
    )


def test_dlm_sampling_frequencies_and_grid():
    logits = np.log(np.array([0.3, 0.7], "float32"))
    means = np.array([0.2, 0.7], "float32")
    log_scales = np.log(np.array([0.1, 0.15], "float32"))
    num_bins, low, high, n = 8, 0.0, 1.0, 20000
    p = DiscretizedLogisticMixture(
        *[np.broadcast_to(v, (n, 2)) for v in (logits, means, log_scales)],
        event_ndims=0,
        num_bins=num_bins,
        low=low,
        high=high,
    )
    x = to_numpy(p.sample(seed=7))
    assert x.shape == (n,) and x.dtype == np.float32
    assert x.min() >= low and x.max() <= high
    index = x * (num_bins - 1)
    np.testing.assert_allclose(index, np.round(index), atol=1e-5)
    counts = np.bincount(np.round(index).astype(int), minlength=num_bins)
    _, pmf = dlm_pmf(logits, means, log_scales, num_bins, low, high)
    within(counts / n, pmf, np.sqrt(pmf * (1 - pmf) / n))


def test_dlm_mean_is_the_clipped_mixture_mean():
    logits = np.array([[0.0, 1.0], [2.0, -1.0], [0.0, 0.0]], "float32")
    means = np.array([[0.05, 0.6], [-0.3, 1.1], [0.4, 0.6]], "float32")
    log_scales = np.log(
        np.array([[0.2, 0.1], [0.3, 0.05], [0.01, 0.01]], "float32")
    )
    p = DiscretizedLogisticMixture(logits, means, log_scales, 0)
    ours = to_numpy(p.mean())
    assert ours.shape == (3,) and ours.dtype == np.float32
    weights = special.softmax(logits.astype("float64"), axis=-1)
    scales = np.exp(log_scales.astype("float64"))
    for i in range(3):
        # E[clip(y, 0, 1)], y from the mixture, by quadrature.
        def clipped_density(y, i=i):
            density = weights[i] * stats.logistic(means[i], scales[i]).pdf(y)
            return np.clip(y, 0.0, 1.0) * density.sum()

        clipped = sum(
            integrate.quad(clipped_density, a, b, limit=200)[0]
            for a, b in ((-np.inf, 0.0), (0.0, 1.0), (1.0, np.inf))
        )
        np.testing.assert_allclose(ours[i], clipped, rtol=1e-4, atol=1e-6)
        grid, pmf = dlm_pmf(logits[i], means[i], log_scales[i], 256, 0.0, 1.0)
        assert abs(ours[i] - grid @ pmf) <= 0.5 / 255
    # Components well inside [0, 1]: the mixture's mean.
    np.testing.assert_allclose(ours[2], weights[2] @ means[2], rtol=1e-5)


# --- Poisson ----------------------------------------------------------------


def test_log_gamma_matches_scipy():
    z = np.concatenate(
        [np.linspace(1e-3, 1.0, 50), np.linspace(1.0, 30.0, 100)]
        + [np.geomspace(30.0, 1e7, 50)]
    ).astype("float32")
    ours = to_numpy(_log_gamma(ops.convert_to_tensor(z)))
    np.testing.assert_allclose(ours, special.gammaln(z), rtol=2e-6, atol=3e-6)


def poisson_counts(rates):
    """12 counts per rate: -1, small counts, and counts around the rate."""
    small = np.array([-1, 0, 1, 2, 5, 10, 37])[:, None]
    z = np.array([-2.5, -1.0, 0.0, 1.0, 3.0])[:, None]
    around = np.maximum(np.round(rates + np.sqrt(rates) * z), 0)
    return np.concatenate([small + 0 * rates, around]).astype("float32")


def test_poisson_log_prob_and_mean_match_scipy():
    # At rates of 1e6, log p near the mode is about -8 while each term of
    # x log(rate) - rate - log(x!) is about 1e7: the direct formula loses
    # whole nats in float32, the stable one keeps 1e-6.
    rates = np.array([1e-3, 0.5, 3.0, 9.9, 40.0, 1e3, 1e5, 1e6], "float32")
    x = poisson_counts(rates)
    p = Poisson(np.log(rates), event_ndims=0)
    rate32 = to_numpy(p.rate()).astype("float64")
    expected = stats.poisson(rate32).logpmf(x)  # -inf at -1.
    np.testing.assert_allclose(
        to_numpy(p.log_prob(x)), expected, rtol=2e-6, atol=2e-5
    )
    np.testing.assert_allclose(to_numpy(p.mean()), rates, rtol=1e-6)
    np.testing.assert_allclose(to_numpy(p.variance()), rates, rtol=1e-6)
    np.testing.assert_array_equal(to_numpy(p.mode()), np.floor(rate32))
    # d log p / d log(rate) = x - rate, through the stable form too.
    grad = gradient(poisson_log_prob, np.log(rates), x)
    expected = np.sum(np.where(x >= 0, x - rate32, 0.0), axis=0)
    np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-3)


def poisson_log_prob(log_rate, x):
    return Poisson(log_rate, 0).log_prob(x)


def test_poisson_extreme_log_rates_give_finite_values_and_gradients():
    log_rates = np.array([-1e4, -100, -30, 0, 19, 30, 100, 1e4], "float32")
    x = poisson_counts(np.full(8, 1e3))
    x[0] = 1e6  # Not -1.
    p = Poisson(log_rates, 0)
    assert finite(p.log_prob(x)) and finite(p.mean())
    assert finite(gradient(poisson_log_prob, log_rates, x))
    # Drawn as in the statistics test (no new shapes to compile on JAX).
    draws = Poisson(np.broadcast_to(log_rates, (20000, 8)), 1).sample(seed=0)
    draws = to_numpy(draws)
    assert draws.min() >= 0
    np.testing.assert_array_equal(draws[:, :3], 0)


POISSON_RATES = np.array([0.05, 0.5, 3.0, 9.9, 10.0, 25.0, 60.0, 5e4])


def test_poisson_sampling_statistics_across_both_methods():
    # Inversion below a rate of 10, rejection (PTRS) from 10 on.
    n = 20000
    p = Poisson(np.broadcast_to(np.log(POISSON_RATES), (n, 8)), 1)
    x = p.sample(seed=8)
    assert dtype_name(x) == "int32" and tuple(x.shape) == (n, 8)
    x = to_numpy(x).astype("float64")
    assert x.min() >= 0
    rates = POISSON_RATES
    within(x.mean(0), rates, np.sqrt(rates / n))
    # Var of the sample variance: (mu_4 - sigma^4) / n = (rate + 2 rate^2) / n.
    within(x.var(0), rates, np.sqrt((rates + 2 * rates**2) / n))
    for column in (2, 5):  # The frequencies of each count, both methods.
        rate = rates[column]
        counts = np.arange(int(rate + 5 * np.sqrt(rate)) + 1)
        pmf = stats.poisson(rate).pmf(counts)
        frequencies = np.bincount(x[:, column].astype(int), minlength=100)
        # Up to 3 draws more or fewer in rare bins (expected << 1 draw).
        error = np.sqrt(pmf / n) + 0.6 / n
        within(frequencies[: len(counts)] / n, pmf, error)


def test_poisson_rejection_falls_back_to_the_mode():
    # Uniforms of 0 reject every proposal (u = -1/2 gives k < 0). Shaped
    # as in the statistics test, whose compiled ops JAX reuses.
    rates = np.array([10.5, 12.5, 20.2, 33.3, 60.6, 99.5, 300.7, 50000.5])
    log_rate = np.broadcast_to(np.log(rates), (20000, 8)).astype("float32")
    uniform = ops.zeros((20000, 8, 40))
    counts = to_numpy(_sample_by_rejection(log_rate, uniform))
    np.testing.assert_array_equal(
        counts, np.broadcast_to(np.floor(rates), counts.shape)
    )


# --- Shapes, dtypes, seeds ----------------------------------------------------


def all_distributions(dtype="float32"):
    def cast(x):
        return ops.cast(ops.convert_to_tensor(x), dtype)

    logits, means, log_scales = dlm_params()
    return {
        "normal": Normal(cast(rand(2, 3)), cast(np.ones((2, 3)))),
        "bernoulli": Bernoulli(cast(rand(2, 3)), 1),
        "mixture": MixtureSameFamily(
            cast(np.zeros(4)), Normal(cast(rand(2, 4, 3)), cast(np.ones(3)))
        ),
        "categorical": Categorical(cast(rand(2, 3, CLASSES)), 1),
        "dlm": DiscretizedLogisticMixture(
            cast(logits), cast(means), cast(log_scales), 1
        ),
        "poisson": Poisson(cast(rand(2, 3)), 1),
    }


DISCRETE = ("categorical", "poisson")


@pytest.mark.parametrize("name", sorted(all_distributions()))
def test_shapes_seeds_event_axes_and_dtypes(name):
    # One sample shape: JAX compiles each op anew for each shape. (The
    # statistics tests draw with the default and int sample shapes.)
    p = all_distributions()[name]
    assert p.batch_shape == (2,) and p.event_shape == (3,)
    x, log_p = p.sample_and_log_prob(seed=1, sample_shape=(2, 2))
    assert tuple(x.shape) == (2, 2, 2, 3)
    assert tuple(log_p.shape) == (2, 2, 2)
    np.testing.assert_allclose(to_numpy(log_p), to_numpy(p.log_prob(x)))
    assert np.all(np.isfinite(to_numpy(log_p)))
    assert dtype_name(x) == ("int32" if name in DISCRETE else "float32")
    assert tuple(p.mean().shape) == (2, 3)
    # The same int seed, the same draws; a generator moves on.
    np.testing.assert_array_equal(
        to_numpy(p.sample(seed=1, sample_shape=(2, 2))), to_numpy(x)
    )
    generator = keras.random.SeedGenerator(0)
    first = to_numpy(p.sample(seed=generator, sample_shape=(2, 2)))
    second = to_numpy(p.sample(seed=generator, sample_shape=(2, 2)))
    assert not np.array_equal(first, second)
    with pytest.raises(ValueError, match="sample_shape"):
        p.sample(seed=0, sample_shape=(2, 0))

    # `event_ndims` sums that many trailing axes.
    if name != "mixture":  # Its event axes are its components'.
        element = type(p).__new__(type(p))
        element.__dict__.update(p.__dict__, event_ndims=0)
        per_value = to_numpy(element.log_prob(x))
        assert per_value.shape == (2, 2, 2, 3)
        np.testing.assert_allclose(
            to_numpy(log_p), per_value.sum(-1), rtol=1e-6, atol=1e-5
        )
        element.event_ndims = 2
        np.testing.assert_allclose(
            to_numpy(element.log_prob(x)),
            per_value.sum((-2, -1)),
            rtol=1e-6,
            atol=1e-5,
        )

    # bfloat16 parameters and values: float32 results.
    half = all_distributions("bfloat16")[name]
    x = half.sample(seed=0, sample_shape=(2, 2))
    assert dtype_name(x) == ("int32" if name in DISCRETE else "float32")
    assert dtype_name(half.log_prob(x)) == "float32"
    assert dtype_name(half.log_prob(ops.cast(x, "bfloat16"))) == "float32"
    assert dtype_name(half.mean()) == "float32"
    np.testing.assert_allclose(  # The same values, rounded to bfloat16.
        to_numpy(half.log_prob(x)), to_numpy(p.log_prob(x)), rtol=0.1
    )


def test_bad_arguments_are_refused_with_their_names():
    with pytest.raises(ValueError, match="event_ndims"):
        Categorical(np.zeros((2, 3)), event_ndims=-1)
    with pytest.raises(ValueError, match="num_bins"):
        DiscretizedLogisticMixture(*dlm_params(), 0, num_bins=1)
    with pytest.raises(ValueError, match="low"):
        DiscretizedLogisticMixture(*dlm_params(), 0, low=1.0, high=0.0)
    with pytest.raises(ValueError, match="high"):
        DiscretizedLogisticMixture(*dlm_params(), 0, high=float("inf"))


# --- Extreme parameters of the other distributions -------------------------


def dlm_log_prob(stacked, x):
    return DiscretizedLogisticMixture(
        stacked[0], stacked[1], stacked[2], 0
    ).log_prob(x)


def test_dlm_extreme_parameters_give_finite_values_and_gradients():
    rng = np.random.default_rng(0)
    full = (2, 3, COMPONENTS)
    for _ in range(4):
        params = np.stack(
            [
                rng.choice([-1e4, -100, 0, 30, 1e4], size=full),
                rng.choice([-1e4, -100, 0, 0.5, 1, 100, 1e4], size=full),
                rng.choice([-1e3, -7, 0, 20, 1e3], size=full),
            ]
        ).astype("float32")
        p = DiscretizedLogisticMixture(*params, 0)
        x = rng.choice([0, 1, 128, 254, 255], size=(2, 3)) / 255
        assert finite(p.log_prob(x)) and finite(p.mean())
        assert finite(gradient(dlm_log_prob, params, x.astype("float32")))
        draws = to_numpy(p.sample(seed=0, sample_shape=(2, 2)))
        assert np.all((draws >= 0) & (draws <= 1))


# --- KL divergences -----------------------------------------------------------


def test_kl_normal_normal_matches_the_textbook_formula():
    loc_q, scale_q = rand(4, 3), np.exp(rand(4, 3, seed=1) * 0.5)
    loc_p, scale_p = rand(3, seed=2), np.exp(rand(3, seed=3) * 0.5)
    q, p = Normal(loc_q, scale_q), Normal(loc_p, scale_p)
    expected = (
        np.log(scale_p / scale_q)
        + (scale_q**2 + (loc_q - loc_p) ** 2) / (2 * scale_p**2)
        - 0.5
    ).sum(-1)
    assert distributions.has_closed_form(q, p)
    np.testing.assert_allclose(
        to_numpy(distributions.kl_divergence(q, p)), expected, rtol=1e-5
    )


def test_kl_bernoulli_matches_scipy():
    logits_q, logits_p = rand(4, 3, scale=3.0), rand(4, 3, scale=3.0, seed=1)
    q, p = Bernoulli(logits_q, 1), Bernoulli(logits_p, 1)
    pq = special.expit(logits_q.astype("float64"))
    pp = special.expit(logits_p.astype("float64"))
    expected = stats.entropy(
        np.stack([pq, 1 - pq]), np.stack([pp, 1 - pp]), axis=0
    ).sum(-1)
    assert distributions.has_closed_form(q, p)
    np.testing.assert_allclose(
        to_numpy(distributions.kl_divergence(q, p)), expected, rtol=1e-4
    )


def test_kl_categorical_matches_scipy():
    logits_q, logits_p = rand(4, 3, 6, scale=2.0), rand(4, 3, 6, seed=1)
    q, p = Categorical(logits_q, 1), Categorical(logits_p, 1)
    expected = stats.entropy(
        np.exp(log_softmax(logits_q)), np.exp(log_softmax(logits_p)), axis=-1
    ).sum(-1)
    assert distributions.has_closed_form(q, p)
    np.testing.assert_allclose(
        to_numpy(distributions.kl_divergence(q, p)), expected, rtol=1e-4
    )


def test_kl_poisson_matches_a_sum_over_the_counts():
    rates_q = np.array([[0.3, 4.0, 50.0], [2.0, 2.0, 10.0]], "float32")
    rates_p = np.array([1.0, 9.0, 45.0], "float32")
    q, p = Poisson(np.log(rates_q), 1), Poisson(np.log(rates_p), 1)
    k = np.arange(400)[:, None, None]
    dq, dp = stats.poisson(rates_q), stats.poisson(rates_p)
    expected = np.sum(dq.pmf(k) * (dq.logpmf(k) - dp.logpmf(k)), axis=0)
    assert distributions.has_closed_form(q, p)
    np.testing.assert_allclose(
        to_numpy(distributions.kl_divergence(q, p)),
        expected.sum(-1),
        rtol=1e-4,
    )


def test_kl_closed_forms_are_finite_and_check_event_ranks():
    big = np.array([-1e4, -50.0, 0.0, 50.0, 1e4], "float32")
    pairs = [
        (Bernoulli(big, 0), Bernoulli(-big, 0)),
        (
            Categorical(np.stack([big, -big], -1), 0),
            Categorical(np.stack([-big, big], -1), 0),
        ),
        (Poisson(big, 0), Poisson(-big, 0)),
    ]
    for q, p in pairs:
        kl = to_numpy(distributions.kl_divergence(q, p))
        assert np.all(np.isfinite(kl)) and np.all(kl >= -1e-3), kl
    with pytest.raises(ValueError, match="event ranks"):
        distributions.kl_divergence(
            Poisson(np.zeros((2, 3)), 1), Poisson(np.zeros((2, 3)), 2)
        )


def test_kl_monte_carlo_fallback_matches_quadrature():
    locs, scales = np.array([-1.0, 0.5, 2.0]), np.array([0.5, 1.0, 0.8])
    q = Normal(locs[:, None], scales[:, None], event_ndims=1)
    weights = np.array([0.3, 0.7])
    p_locs, p_scales = np.array([-1.0, 1.5]), np.array([0.7, 1.2])
    p = MixtureSameFamily(
        np.log(weights), Normal(p_locs[:, None], p_scales[:, None])
    )
    assert not distributions.has_closed_form(q, p)
    n = 20000
    estimate = distributions.kl_divergence(q, p, seed=0, num_samples=n)
    estimate = to_numpy(estimate)
    assert estimate.shape == (3,)

    # KL and the variance of log q - log p, by the trapezoidal rule on a
    # fine grid (the integrands are smooth and negligible beyond it).
    z = np.linspace(-12.0, 14.0, 200001)[:, None]
    log_q = stats.norm(locs, scales).logpdf(z)
    log_p = special.logsumexp(
        np.log(weights) + stats.norm(p_locs, p_scales).logpdf(z[..., None]),
        axis=-1,
    )
    ratio, q_z = log_q - log_p, np.exp(log_q)
    kl = integrate.trapezoid(q_z * ratio, z[:, 0], axis=0)
    second = integrate.trapezoid(q_z * ratio**2, z[:, 0], axis=0)
    within(estimate, kl, np.sqrt((second - kl**2) / n))
    again = distributions.kl_divergence(q, p, seed=0, num_samples=n)
    np.testing.assert_array_equal(to_numpy(again), estimate)


@pytest.mark.parametrize("family", ["bernoulli", "normal", "poisson"])
def test_image_events_broadcast_against_sample_axes(family):
    """`log_prob` of a batch of images `(B, 4, 3, 1)` under parameters with
    sample axes `(k, B, 4, 3, 1)` (how a VAE scores `k` draws), summed over
    the three event axes (flattened into one inside), against scipy."""
    from scipy import stats

    rng = np.random.default_rng(5)
    k, b, event = 3, 2, (4, 3, 1)
    param = rng.normal(size=(k, b) + event).astype("float32")
    if family == "bernoulli":
        x = (rng.random((b,) + event) > 0.5).astype("float32")
        dist = distributions.Bernoulli(param, event_ndims=3)
        expected = stats.bernoulli(1 / (1 + np.exp(-param))).logpmf(x)
    elif family == "normal":
        x = rng.normal(size=(b,) + event).astype("float32")
        log_var = 0.3 * param
        dist = distributions.Normal.from_log_var(param, log_var, event_ndims=3)
        expected = stats.norm(param, np.exp(0.5 * log_var)).logpdf(x)
    else:
        x = rng.poisson(2.0, size=(b,) + event).astype("float32")
        dist = distributions.Poisson(param, event_ndims=3)
        expected = stats.poisson(np.exp(param)).logpmf(x)
    got = to_numpy(dist.log_prob(x))
    assert got.shape == (k, b)
    np.testing.assert_allclose(got, expected.sum(axis=(2, 3, 4)), rtol=1e-5)
