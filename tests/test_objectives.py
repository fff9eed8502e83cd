"""The objectives: beta-TCVAE's total correlation and InfoVAE's MMD against
numpy written here, their losses in `VAE.fit`, configs and errors."""

import math

import keras
import numpy as np
import pytest

import keras_vae
from keras_vae import objectives
from keras_vae.testing import run_vae_test


def _brute_force_total_correlation(z, loc, log_var, n):
    """The minibatch-weighted estimate, term by term, in plain Python."""
    m, dims = z.shape

    def log_density(i, j, d):  # log q_d(z_id | x_j)
        var = math.exp(log_var[j, d])
        return -0.5 * (
            math.log(2 * math.pi)
            + log_var[j, d]
            + (z[i, d] - loc[j, d]) ** 2 / var
        )

    def log_sum_exp(values):
        top = max(values)
        return top + math.log(sum(math.exp(v - top) for v in values))

    total = 0.0
    for i in range(m):
        joint = [
            sum(log_density(i, j, d) for d in range(dims)) for j in range(m)
        ]
        log_qz = log_sum_exp(joint) - math.log(n * m)
        log_marginals = sum(
            log_sum_exp([log_density(i, j, d) for j in range(m)])
            - math.log(n * m)
            for d in range(dims)
        )
        total += log_qz - log_marginals
    return total / m


def _numpy_mmd(x, y, kernel, c):
    def gram(a, b):
        d = ((a[:, None] - b[None]) ** 2).sum(-1)
        return c / (c + d) if kernel == "imq" else np.exp(-d / c)

    def off(k):
        n = len(k)
        return (k.sum() - np.trace(k)) / (n * (n - 1))

    return off(gram(x, x)) + off(gram(y, y)) - 2 * gram(x, y).mean()


@pytest.mark.parametrize("dataset_size", [None, 5000])
def test_total_correlation_matches_numpy(dataset_size):
    rng = np.random.default_rng(0)
    loc = rng.normal(size=(12, 3))
    log_var = rng.uniform(-2, 0.5, size=(12, 3))
    z = loc + np.exp(log_var / 2) * rng.normal(size=(12, 3))
    expected = _brute_force_total_correlation(
        z, loc, log_var, dataset_size or 12
    )
    value = objectives.total_correlation(
        z.astype("float32"),
        loc.astype("float32"),
        log_var.astype("float32"),
        dataset_size,
    )
    np.testing.assert_allclose(float(value), expected, rtol=1e-4, atol=1e-4)


def test_total_correlation_sees_dependent_dimensions():
    rng = np.random.default_rng(1)
    t = rng.normal(size=(256, 1))
    log_var = np.full((256, 2), -3.0)
    # Means on a line (dependent) and with independent coordinates.
    dependent = np.concatenate([t, t], axis=1)
    independent = rng.normal(size=(256, 2))
    values = []
    for loc in (dependent, independent):
        z = loc + np.exp(log_var / 2) * rng.normal(size=loc.shape)
        values.append(
            float(
                objectives.total_correlation(
                    z.astype("float32"),
                    loc.astype("float32"),
                    log_var.astype("float32"),
                    dataset_size=256,
                )
            )
        )
    assert values[0] > values[1] + 1.0, values


@pytest.mark.parametrize("kernel", ["imq", "rbf"])
def test_mmd_matches_numpy_and_separates_distributions(kernel):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(100, 3))
    y = rng.normal(size=(80, 3))
    shifted = y + 2.0
    for scale in (None, 1.5):
        c = 6.0 if scale is None else scale
        for other in (y, shifted):
            np.testing.assert_allclose(
                float(objectives.mmd(x, other, kernel, scale)),
                _numpy_mmd(x, other, kernel, c),
                rtol=1e-4,
                atol=1e-6,
            )
    same = float(objectives.mmd(x, y, kernel))
    apart = float(objectives.mmd(x, shifted, kernel))
    assert abs(same) < 0.02 and apart > 0.1, (same, apart)


def _vae(objective, **kwargs):
    encoder = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(16, activation="tanh")]
    )
    decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(6)])
    return keras_vae.VAE(
        encoder, decoder, latent_dim=2, objective=objective, seed=0, **kwargs
    )


def _data(n=32):
    rng = np.random.default_rng(3)
    return (rng.random((n, 6)) > 0.5).astype("float32")


@pytest.mark.parametrize(
    "objective, metric, weight",
    [
        (
            objectives.BetaTCVAE(tc_weight=4.0, dataset_size=1000),
            "total_correlation",
            3.0,
        ),
        (objectives.MMD(weight=50.0), "mmd", 50.0),
    ],
)
def test_fit_reports_the_extra_term_and_adds_it_to_the_loss(
    objective, metric, weight
):
    vae = _vae(objective)
    vae.compile(optimizer=keras.optimizers.SGD(0.0))  # Weights stay put.
    x = _data()
    logs = vae.fit(x, batch_size=len(x), epochs=1, verbose=0).history
    logs = {k: v[-1] for k, v in logs.items()}
    assert np.isfinite(logs[metric])
    np.testing.assert_allclose(
        logs["loss"],
        logs["reconstruction"] + logs["kl"] + weight * logs[metric],
        rtol=1e-5,
    )
    results = vae.evaluate(x, batch_size=len(x), verbose=0, return_dict=True)
    assert metric in results


@pytest.mark.parametrize("objective", ["beta_tcvae", "mmd"])
def test_fit_on_a_dataset_of_unknown_batch_size(objective):
    """A `tf.data` pipeline's batch size is unknown while TensorFlow traces
    the step: MMD then draws as many prior samples as the batch has rows,
    a size known only when the graph runs (it raised a ValueError)."""
    import tensorflow as tf

    vae = _vae(objective)
    vae.compile(optimizer="adam")
    x = _data(40)
    dataset = tf.data.Dataset.from_tensor_slices(x).batch(16)  # 16, 16, 8.
    logs = vae.fit(dataset, epochs=2, verbose=0).history
    assert all(np.isfinite(v[-1]) for v in logs.values())


@pytest.mark.parametrize("objective", ["beta_tcvae", "mmd"])
def test_run_vae_test(objective):
    encoder = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(16, activation="tanh")]
    )
    decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(6)])
    run_vae_test(
        keras_vae.VAE,
        {
            "encoder": encoder,
            "decoder": decoder,
            "latent_dim": 2,
            "objective": objective,
            "seed": 0,
        },
        _data(),
    )


def test_configs_keep_names_and_parameters():
    assert _vae("elbo").get_config()["objective"] == "elbo"
    assert _vae("beta_tcvae").get_config()["objective"] == "beta_tcvae"
    custom = _vae(objectives.MMD(weight=3.0, kernel="rbf"))
    config = custom.get_config()["objective"]
    assert isinstance(config, dict)
    revived = keras_vae.VAE.from_config(custom.get_config())
    assert revived._objective == objectives.MMD(weight=3.0, kernel="rbf")
    assert objectives.get(config) == objectives.MMD(3.0, "rbf")
    assert objectives.get("iwae") == objectives.IWAE()


def test_errors():
    with pytest.raises(ValueError, match="objective='vi'"):
        _vae("vi")
    with pytest.raises(ValueError, match="tc_weight=-1"):
        objectives.BetaTCVAE(tc_weight=-1)
    with pytest.raises(ValueError, match="dataset_size=0"):
        objectives.BetaTCVAE(dataset_size=0)
    with pytest.raises(ValueError, match="kernel='cosine'"):
        objectives.MMD(kernel="cosine")
    vae = _vae(
        "beta_tcvae",
        posterior=keras_vae.posteriors.InverseAutoregressiveFlow(2),
    )
    vae.compile(optimizer="adam")
    with pytest.raises(ValueError, match="needs a Gaussian posterior"):
        vae.fit(_data(), epochs=1, verbose=0)
