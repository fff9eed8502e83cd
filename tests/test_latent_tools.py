"""Per-example scores, interpolation and traversal, on VAE and
ConditionalVAE: against exact values, numpy written here, and errors."""

import keras
import numpy as np
import pytest

import keras_vae
from keras_vae.testing import exact_log_likelihood
from keras_vae.testing import linear_gaussian_data
from keras_vae.testing import linear_gaussian_vae


@pytest.fixture(scope="module")
def exact():
    """A linear-Gaussian VAE whose posterior is exact: every draw's log
    weight is `log p(x)`."""
    vae = linear_gaussian_vae(data_dim=6, latent_dim=2, seed=0)
    x = linear_gaussian_data(vae, 12, seed=1)
    return vae, x, exact_log_likelihood(vae, x)


def test_scores_equal_the_exact_log_likelihood(exact):
    vae, x, log_px = exact
    for kind in ("elbo", "log_likelihood"):
        scores = vae.score(x, kind=kind, num_samples=7, verbose=0)
        assert scores.dtype == np.float32 and scores.shape == (12,)
        np.testing.assert_allclose(scores, log_px, rtol=1e-4, atol=1e-3)


def test_score_log_likelihood_is_log_likelihood():
    vae = _bernoulli_vae()
    x = _binary(10)
    scores = vae.score(x, num_samples=20, seed=3, batch_size=4, verbose=0)
    reference = vae.log_likelihood(
        x, num_samples=20, seed=3, batch_size=4, verbose=0
    )
    np.testing.assert_allclose(scores, reference.astype("float32"))


def test_score_elbo_averages_the_log_weights():
    """The ELBO score's mean over the data matches `evaluate`'s ELBO
    within Monte Carlo error, and it lies below the log-likelihood."""
    vae = _bernoulli_vae()
    x = _binary(64)
    elbo = vae.score(x, kind="elbo", num_samples=200, seed=0, verbose=0)
    vae.compile()
    reference = vae.evaluate(x, batch_size=64, verbose=0, return_dict=True)
    assert abs(elbo.mean() - reference["elbo"]) < 0.5
    # On the same draws, log-mean-exp >= mean, example by example.
    log_px = vae.score(x, num_samples=200, seed=0, verbose=0)
    assert np.all(log_px >= elbo - 1e-4)


def _bernoulli_vae(latent_dim=2, data_dim=6):
    encoder = keras.Sequential(
        [keras.Input((data_dim,)), keras.layers.Dense(8, activation="tanh")]
    )
    decoder = keras.Sequential(
        [keras.Input((latent_dim,)), keras.layers.Dense(data_dim)]
    )
    return keras_vae.VAE(encoder, decoder, latent_dim=latent_dim, seed=0)


def _binary(n, dim=6, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random((n, dim)) > 0.5).astype("float32")


def _numpy_slerp(a, b, t):
    angle = np.arccos(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))
    return (np.sin((1 - t) * angle) * a + np.sin(t * angle) * b) / np.sin(angle)


def test_interpolate_latents_and_examples():
    vae = _bernoulli_vae()
    a, b = np.array([1.0, -0.5]), np.array([-0.3, 2.0])
    t = np.linspace(0, 1, 5)[:, None]
    linear = vae.interpolate(a, b, steps=5, method="linear")
    np.testing.assert_allclose(
        linear, vae.decode((1 - t) * a + t * b), rtol=1e-6
    )
    slerp = vae.interpolate(a, b, steps=5)
    np.testing.assert_allclose(
        slerp, vae.decode(_numpy_slerp(a, b, t)), rtol=1e-5, atol=1e-6
    )
    # Parallel ends: the line.
    np.testing.assert_allclose(
        vae.interpolate(a, 2 * a, steps=3),
        vae.interpolate(a, 2 * a, steps=3, method="linear"),
        rtol=1e-6,
    )
    # Two examples: from the mean of one posterior to the other's.
    x = _binary(2)
    mean, _ = vae.encode(x)
    np.testing.assert_allclose(
        vae.interpolate(x[0], x[1], steps=4, method="linear"),
        vae.interpolate(mean[0], mean[1], steps=4, method="linear"),
        rtol=1e-6,
    )


def test_traverse_sets_one_dimension():
    vae = _bernoulli_vae(latent_dim=3)
    z = np.array([0.5, -1.0, 2.0], "float32")
    values = [-2.0, 0.0, 1.5]
    sweep = vae.traverse(z, dim=1, values=values)
    expected = np.repeat(z[None], 3, axis=0)
    expected[:, 1] = values
    np.testing.assert_allclose(sweep, vae.decode(expected), rtol=1e-6)
    grid = vae.traverse(z, dim=[0, 2])
    assert grid.shape == (2, 7, 6)
    np.testing.assert_allclose(grid[1], vae.traverse(z, dim=2), rtol=1e-6)
    x = _binary(1, seed=4)[0]
    mean, _ = vae.encode(x[None])
    np.testing.assert_allclose(
        vae.traverse(x, 0), vae.traverse(mean[0], 0), rtol=1e-6
    )


def test_conditional_tools():
    cvae = keras_vae.ConditionalVAE.mlp(
        (6,), latent_dim=2, num_classes=3, hidden_units=(8,), seed=0
    )
    x = _binary(6)
    labels = np.arange(6) % 3
    scores = cvae.score(x, condition=labels, num_samples=10, seed=0, verbose=0)
    np.testing.assert_allclose(
        scores,
        cvae.log_likelihood(
            x, condition=labels, num_samples=10, seed=0, verbose=0
        ).astype("float32"),
    )
    a, b = np.zeros(2), np.ones(2)
    path = cvae.interpolate(a, b, condition=2, steps=3, method="linear")
    np.testing.assert_allclose(
        path,
        cvae.decode(np.linspace(a, b, 3), condition=2),
        rtol=1e-6,
    )
    sweep = cvae.traverse(a, dim=0, condition=1, values=[0.0, 1.0])
    np.testing.assert_allclose(
        sweep, cvae.decode([[0.0, 0.0], [1.0, 0.0]], condition=1), rtol=1e-6
    )
    with pytest.raises(ValueError, match="`condition` is required"):
        cvae.traverse(a, dim=0)


def test_encode_is_float32_under_mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        vae = _bernoulli_vae()
        outputs = vae.encode(_binary(4)) + (
            vae.decode(np.zeros((1, 2))),
            vae.reconstruct(_binary(2)),
            vae.sample(2, seed=0),
            vae.score(_binary(2), num_samples=2, verbose=0),
            vae.traverse(np.zeros(2), 0),
        )
        assert [o.dtype for o in outputs] == [np.float32] * len(outputs)
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_errors():
    vae = _bernoulli_vae()
    x = _binary(2)
    with pytest.raises(ValueError, match="kind='nll'"):
        vae.score(x, kind="nll")
    with pytest.raises(ValueError, match="at least 2.*steps=1"):
        vae.interpolate(x[0], x[1], steps=1)
    with pytest.raises(ValueError, match="method='cubic'"):
        vae.interpolate(x[0], x[1], method="cubic")
    with pytest.raises(ValueError, match="not one of each"):
        vae.interpolate(x[0], np.zeros(2))
    with pytest.raises(ValueError, match=r"`b` must be one example.*\(5,\)"):
        vae.interpolate(x[0], np.zeros(5))
    with pytest.raises(ValueError, match=r"latent_dim=2\)\. Received: dim=2"):
        vae.traverse(x[0], dim=2)
    with pytest.raises(ValueError, match="values"):
        vae.traverse(x[0], dim=0, values=[0.0, np.nan])
    square = _bernoulli_vae(latent_dim=6)
    with pytest.raises(ValueError, match="both the data's and"):
        square.traverse(np.zeros(6), dim=0)
