"""keras_vae.ops against independent numpy references and Monte Carlo."""

import math

import numpy as np
import pytest
from keras import ops as kops

from keras_vae import ops
from keras_vae.testing import dtype_name
from keras_vae.testing import to_numpy


def numpy_normal_log_pdf(x, mean, var):
    return -0.5 * ((x - mean) ** 2 / var + np.log(2 * np.pi * var))


def test_kl_matches_monte_carlo():
    rng = np.random.default_rng(0)
    mean = rng.normal(size=(3, 4)).astype("float32")
    log_var = rng.normal(scale=0.5, size=(3, 4)).astype("float32")
    closed = to_numpy(ops.kl_divergence_standard_normal(mean, log_var))
    # Monte Carlo: E_q[log q(z) - log p(z)], 400k draws, float64.
    std = np.exp(0.5 * log_var.astype("float64"))
    z = mean + std * rng.standard_normal((400_000, 3, 4))
    log_q = numpy_normal_log_pdf(z, mean, std**2).sum(-1)
    log_p = numpy_normal_log_pdf(z, 0.0, 1.0).sum(-1)
    estimate = (log_q - log_p).mean(0)
    standard_error = (log_q - log_p).std(0) / math.sqrt(len(z))
    assert closed.shape == (3,)
    np.testing.assert_array_less(np.abs(closed - estimate), 5 * standard_error)


def test_kl_is_zero_at_prior_and_positive_elsewhere():
    zero = to_numpy(
        ops.kl_divergence_standard_normal(np.zeros((2, 5)), 0 * np.ones((2, 5)))
    )
    np.testing.assert_allclose(zero, 0.0, atol=1e-7)
    kl = to_numpy(
        ops.kl_divergence_standard_normal(np.ones((2, 5)), np.ones((2, 5)))
    )
    assert (kl > 0).all()


def test_kl_event_ndims():
    mean = np.ones((2, 3, 4), "float32")
    full = to_numpy(ops.kl_divergence_standard_normal(mean, 0 * mean))
    last = to_numpy(
        ops.kl_divergence_standard_normal(mean, 0 * mean, event_ndims=1)
    )
    assert full.shape == (2,) and last.shape == (2, 3)
    np.testing.assert_allclose(full, last.sum(-1), rtol=1e-6)
    with pytest.raises(ValueError, match="event_ndims=4"):
        ops.kl_divergence_standard_normal(mean, mean, event_ndims=4)


def test_normal_log_prob_matches_to_numpy():
    rng = np.random.default_rng(1)
    x, mean = rng.normal(size=(2, 4, 6)).astype("float32")
    log_var = rng.normal(size=(4, 6)).astype("float32")
    expected = numpy_normal_log_pdf(x, mean, np.exp(log_var)).sum(-1)
    np.testing.assert_allclose(
        to_numpy(ops.normal_log_prob(x, mean, log_var)), expected, rtol=1e-5
    )
    expected = numpy_normal_log_pdf(x, 0.0, 1.0).sum(-1)
    np.testing.assert_allclose(
        to_numpy(ops.standard_normal_log_prob(x)), expected, rtol=1e-5
    )


def test_bernoulli_log_prob_matches_to_numpy():
    rng = np.random.default_rng(2)
    logits = rng.normal(scale=3, size=(5, 7, 7, 1)).astype("float32")
    x = (rng.random((5, 7, 7, 1)) > 0.5).astype("float32")
    p = 1 / (1 + np.exp(-logits.astype("float64")))
    expected = (x * np.log(p) + (1 - x) * np.log1p(-p)).sum((1, 2, 3))
    np.testing.assert_allclose(
        to_numpy(ops.bernoulli_log_prob(x, logits)), expected, rtol=1e-5
    )


def test_bernoulli_log_prob_is_finite_for_saturated_logits():
    logits = np.array([[1e4, -1e4, 80.0, -80.0]], "float32")
    x = np.array([[0.0, 1.0, 1.0, 0.0]], "float32")
    value = to_numpy(ops.bernoulli_log_prob(x, logits))
    np.testing.assert_allclose(value, [-2e4], rtol=1e-6)


def test_extreme_log_var_gives_finite_values():
    mean = np.zeros((2, 3), "float32")
    for value in (1e4, -1e4):
        log_var = np.full((2, 3), value, "float32")
        assert np.isfinite(
            to_numpy(ops.kl_divergence_standard_normal(mean, log_var))
        ).all()
        assert np.isfinite(
            to_numpy(ops.normal_log_prob(mean, mean, log_var))
        ).all()
    np.testing.assert_array_equal(
        to_numpy(ops.clip_log_var(np.array([-1e4, 0.5, 1e4]))),
        [ops.LOG_VAR_MIN, 0.5, ops.LOG_VAR_MAX],
    )


def test_log_mean_exp_is_stable():
    x = np.array([[-1000.0, -1000.0, -1000.0], [1000.0, 999.0, 0.0]], "float32")
    expected = [
        -1000.0,
        1000.0 + math.log((1 + math.exp(-1) + math.exp(-1000)) / 3),
    ]
    np.testing.assert_allclose(
        to_numpy(ops.log_mean_exp(x, axis=1)), expected, rtol=1e-6
    )


def test_linear_warmup():
    assert float(to_numpy(ops.linear_warmup(0, 10, 2.0))) == 0.0
    assert float(to_numpy(ops.linear_warmup(5, 10, 2.0))) == 1.0
    assert float(to_numpy(ops.linear_warmup(50, 10, 2.0))) == 2.0
    assert float(to_numpy(ops.linear_warmup(7, 0, 3.0))) == 3.0


def test_float32_under_bfloat16_inputs():
    x = kops.cast(np.ones((2, 3)), "bfloat16")
    for value in (
        ops.kl_divergence_standard_normal(x, x),
        ops.bernoulli_log_prob(x, x),
        ops.normal_log_prob(x, x, x),
    ):
        assert dtype_name(value) == "float32"


def test_softplus_matches_numpy_far_into_both_tails():
    x = np.array([-200.0, -30.0, -1.0, 0.0, 1e-8, 1.0, 30.0, 200.0], "float32")
    expected = np.logaddexp(0.0, x.astype("float64"))
    got = to_numpy(ops.softplus(x))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-30)
    assert np.all(np.isfinite(got))


def test_softplus_gradient_is_the_sigmoid_at_zero_too():
    x = np.array([-5.0, -0.5, 0.0, 0.5, 5.0], "float32")
    from test_distributions import gradient

    got = gradient(ops.softplus, x)
    np.testing.assert_allclose(got, 1 / (1 + np.exp(-x)), rtol=1e-6)
