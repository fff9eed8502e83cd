import json
import os

import keras
import numpy as np
import pytest

import keras_vae
from keras_vae import ops
from keras_vae.testing import check_config_round_trip
from keras_vae.testing import dtype_name
from keras_vae.testing import to_numpy


def mlp_vae(data_shape=(8, 8, 1), latent_dim=2, hidden=32, **kwargs):
    size = int(np.prod(data_shape))
    encoder = keras.Sequential(
        [
            keras.Input(data_shape),
            keras.layers.Flatten(),
            keras.layers.Dense(hidden, activation="tanh"),
        ]
    )
    decoder = keras.Sequential(
        [
            keras.Input((latent_dim,)),
            keras.layers.Dense(hidden, activation="tanh"),
            keras.layers.Dense(size),
            keras.layers.Reshape(data_shape),
        ]
    )
    return keras_vae.VAE(encoder, decoder, latent_dim=latent_dim, **kwargs)


def prototypes_data(n, seed=0, flip=0.05):
    """8x8 binary images: one of 8 random prototypes, 5% of pixels flipped."""
    prototypes = np.random.default_rng(1234).random((8, 8, 8, 1)) > 0.5
    rng = np.random.default_rng(seed)
    images = prototypes[rng.integers(0, 8, n)]
    images ^= rng.random(images.shape) < flip
    return images.astype("float32")


def json_normalized(config):
    """The config as it reads back from JSON (tuples become lists)."""
    return json.loads(json.dumps(config))


# ----------------------------------------------------------------------
# A linear-Gaussian model: z ~ N(0, I), x | z ~ N(W z + b, s2 I), whose
# marginal p(x) = N(b, W W^T + s2 I) and posterior are known exactly.

DATA_DIM, LATENT_DIM, S2 = 5, 2, 0.5


def linear_gaussian(objective="elbo", num_samples=1, perturb=0.0):
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(DATA_DIM, DATA_DIM)))
    w = q[:, :LATENT_DIM] * np.array([1.5, 0.7])  # Orthogonal columns.
    b = rng.normal(size=DATA_DIM)
    post_var = 1.0 / (1.0 + np.diag(w.T @ w) / S2)  # Diagonal posterior.
    encoder = keras.Sequential(
        [keras.Input((DATA_DIM,)), keras.layers.Identity()]
    )
    decoder = keras.Sequential(
        [keras.Input((LATENT_DIM,)), keras.layers.Dense(DATA_DIM)]
    )
    vae = keras_vae.VAE(
        encoder,
        decoder,
        latent_dim=LATENT_DIM,
        likelihood="gaussian",
        gaussian_variance=S2,
        objective=objective,
        num_samples=num_samples,
        seed=0,
    )
    vae(np.zeros((1, DATA_DIM), "float32"))
    # Posterior mean = diag(post_var) W^T (x - b) / s2.
    mean_kernel = w * post_var / S2
    kernel = np.concatenate([mean_kernel, np.zeros_like(mean_kernel)], 1)
    bias = np.concatenate([-b @ mean_kernel, np.log(post_var) + perturb])
    vae.encoder_head.kernel.assign(kernel.astype("float32"))
    vae.encoder_head.bias.assign(bias.astype("float32"))
    dense = vae.decoder.layers[-1]
    dense.kernel.assign(w.T.astype("float32"))
    dense.bias.assign(b.astype("float32"))
    x = rng.multivariate_normal(b, w @ w.T + S2 * np.eye(DATA_DIM), 20)
    cov = w @ w.T + S2 * np.eye(DATA_DIM)
    diff = x - b
    log_px = -0.5 * (
        np.einsum("ni,ij,nj->n", diff, np.linalg.inv(cov), diff)
        + np.linalg.slogdet(2 * np.pi * cov)[1]
    )
    return vae, x.astype("float32"), log_px


def test_log_likelihood_is_exact_with_the_true_posterior():
    vae, x, log_px = linear_gaussian()
    # With q(z|x) = p(z|x) every importance weight equals p(x).
    estimate = vae.log_likelihood(x, num_samples=3, verbose=0)
    np.testing.assert_allclose(estimate, log_px, rtol=1e-5, atol=1e-4)


def test_log_likelihood_converges_with_a_wrong_posterior():
    vae, x, log_px = linear_gaussian(perturb=1.0)  # Variances e times off.
    # With k = 1 the expected gap is KL(q || p(z|x)): here the means agree
    # and every variance is e times too large, so KL = 2 * (e - 2) / 2. One
    # draw is noisy (spread ~1.7): 50 per example bring the mean's to ~0.05.
    one = vae.log_likelihood(
        np.repeat(x, 50, axis=0), num_samples=1, seed=1, verbose=0
    )
    many = vae.log_likelihood(
        x,
        num_samples=5000,
        batch_size=7,
        samples_per_step=999,
        seed=1,
        verbose=0,
    )
    gap_one = np.mean(np.repeat(log_px, 50) - one)
    gap_many = np.mean(log_px - many)
    assert abs(gap_one - (np.e - 2)) < 0.25  # The ELBO is loose here...
    assert abs(gap_many) < 0.02  # ...and k = 5000 gets to the truth.


def test_stopped_log_likelihood_resumes_to_the_same_estimate(
    tmp_path, monkeypatch
):
    from keras_vae.models.importance_weights import ImportanceWeights

    vae, x, _ = linear_gaussian(perturb=1.0)
    kwargs = dict(
        num_samples=23, batch_size=5, samples_per_step=4, seed=3, verbose=0
    )
    uninterrupted = vae.log_likelihood(x, **kwargs)
    progress = str(tmp_path / "progress.npz")

    predict = ImportanceWeights.predict
    calls = []

    def stop_at_the_fourth_step(self, *args, **kw):
        calls.append(None)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return predict(self, *args, **kw)

    monkeypatch.setattr(ImportanceWeights, "predict", stop_at_the_fourth_step)
    with pytest.raises(KeyboardInterrupt):
        vae.log_likelihood(x, progress_path=progress, **kwargs)
    assert os.path.exists(progress)  # Three steps (12 samples) saved.
    monkeypatch.setattr(ImportanceWeights, "predict", predict)
    resumed = vae.log_likelihood(x, progress_path=progress, **kwargs)
    np.testing.assert_allclose(resumed, uninterrupted, rtol=1e-6, atol=1e-6)
    assert not os.path.exists(progress)  # Removed once complete.

    # Progress made with other weights is not reused.
    with pytest.raises(KeyboardInterrupt):
        monkeypatch.setattr(
            ImportanceWeights, "predict", stop_at_the_fourth_step
        )
        calls.clear()
        vae.log_likelihood(x, progress_path=progress, **kwargs)
    monkeypatch.setattr(ImportanceWeights, "predict", predict)
    head = vae.encoder_head
    head.kernel.assign(head.kernel * 0.5)
    fresh = vae.log_likelihood(x, **kwargs)
    reused = vae.log_likelihood(x, progress_path=progress, **kwargs)
    np.testing.assert_allclose(reused, fresh, rtol=1e-6, atol=1e-6)
    assert not np.allclose(fresh, uninterrupted)


@pytest.mark.parametrize("objective, k", [("iwae", 1), ("iwae", 4)])
def test_iwae_loss_is_exact_with_the_true_posterior(objective, k):
    vae, x, log_px = linear_gaussian(objective, num_samples=k)
    vae.compile(optimizer="sgd")
    loss = vae.evaluate(x, batch_size=len(x), verbose=0, return_dict=True)
    np.testing.assert_allclose(loss["loss"], -log_px.mean(), rtol=1e-5)


def test_elbo_loss_is_reconstruction_plus_kl():
    vae, x, log_px = linear_gaussian("elbo", num_samples=2000)
    vae.compile(optimizer="sgd")
    logs = vae.evaluate(x, batch_size=len(x), verbose=0, return_dict=True)
    np.testing.assert_allclose(
        logs["loss"], logs["reconstruction"] + logs["kl"], rtol=1e-5
    )
    np.testing.assert_allclose(logs["elbo"], -logs["loss"], rtol=1e-5)
    mean, log_var = vae.encode(x)
    kl = to_numpy(ops.kl_divergence_standard_normal(mean, log_var)).mean()
    np.testing.assert_allclose(logs["kl"], kl, rtol=1e-5)
    # With the true posterior, ELBO = log p(x) (up to Monte Carlo error).
    assert abs(logs["elbo"] - log_px.mean()) < 0.02


def test_vae_learns_on_synthetic_data():
    x = prototypes_data(1024)
    x_val = prototypes_data(256, seed=1)
    vae = mlp_vae(seed=0)
    vae.compile(optimizer=keras.optimizers.Adam(3e-3))
    before = -vae.log_likelihood(x_val, num_samples=50, seed=0, verbose=0)
    history = vae.fit(
        x, validation_data=x_val, epochs=40, batch_size=64, verbose=0
    )
    after = -vae.log_likelihood(x_val, num_samples=50, seed=0, verbose=0)
    # Independent pixels (the best factorized model) cost ~64 * log 2 = 44
    # nats; the data's own entropy is ~15 nats.
    factorized = -np.mean(
        np.sum(
            x_val * np.log(x.mean(0)) + (1 - x_val) * np.log(1 - x.mean(0)),
            axis=(1, 2, 3),
        )
    )
    assert before.mean() > 40
    assert after.mean() < factorized - 10, (after.mean(), factorized)
    elbo = history.history["val_elbo"]
    assert elbo[-1] > elbo[0] + 10
    for key in ("loss", "reconstruction", "kl", "elbo"):
        assert key in history.history and "val_" + key in history.history


def test_api_shapes_and_sampling_seeds():
    vae = mlp_vae(seed=0)
    x = prototypes_data(10)
    mean, log_var = vae.encode(x)
    assert mean.shape == (10, 2) and log_var.shape == (10, 2)
    assert vae.decode(mean).shape == (10, 8, 8, 1)
    images = vae.reconstruct(x)
    assert images.shape == x.shape and ((0 <= images) & (images <= 1)).all()
    np.testing.assert_array_equal(images, vae.reconstruct(x))
    assert not np.allclose(vae.reconstruct(x, sample=True), images)
    np.testing.assert_array_equal(vae.sample(5, seed=3), vae.sample(5, seed=3))
    assert not np.allclose(vae.sample(5), vae.sample(5))
    assert vae.sample(300, batch_size=128).shape == (300, 8, 8, 1)
    outputs = vae(x, training=True)
    assert tuple(outputs.shape) == x.shape


def test_repeated_log_likelihoods_restart_the_noise_of_their_seed(tmp_path):
    vae, x, _ = linear_gaussian(perturb=1.0)
    num_weights = len(vae.weights)
    kwargs = dict(num_samples=8, samples_per_step=4, verbose=0)
    first = vae.log_likelihood(x, seed=1, **kwargs)
    other = vae.log_likelihood(x, seed=2, **kwargs)
    again = vae.log_likelihood(x, seed=1, **kwargs)
    np.testing.assert_array_equal(again, first)  # Same seed, same draws.
    assert not np.allclose(other, first)
    fresh = [vae.log_likelihood(x, **kwargs) for _ in range(2)]
    assert not np.allclose(fresh[0], fresh[1])  # seed=None: new draws.
    # The estimator (and its compiled step, reused across calls) is not
    # part of the VAE: same weights, and a saved and loaded copy's first
    # call gives what the first call gave.
    assert len(vae.weights) == num_weights
    vae.save_weights(str(tmp_path / "vae.weights.h5"))
    import h5py

    with h5py.File(str(tmp_path / "vae.weights.h5")) as f:
        paths = []
        f.visit(paths.append)
    assert paths and not [p for p in paths if "importance" in p], paths
    vae.save(str(tmp_path / "vae.keras"))
    loaded = keras.saving.load_model(str(tmp_path / "vae.keras"))
    np.testing.assert_allclose(
        loaded.log_likelihood(x, seed=1, **kwargs), first, rtol=1e-6
    )


def test_gaussian_learned_likelihood_trains_its_variance():
    rng = np.random.default_rng(0)
    x = rng.normal(scale=0.1, size=(256, 6)).astype("float32")
    encoder = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16)])
    decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(6)])
    vae = keras_vae.VAE(
        encoder, decoder, latent_dim=2, likelihood="gaussian_learned", seed=0
    )
    vae.compile(optimizer=keras.optimizers.Adam(0.05))
    vae.fit(x, epochs=20, batch_size=64, verbose=0)
    log_var = to_numpy(vae.likelihood.log_var)
    assert log_var.shape == (6,)
    assert (log_var < -1.0).all()  # Learned: the data's scale is 0.1.


def test_save_and_load_round_trip(tmp_model_path):
    vae = mlp_vae(
        seed=0,
        kl_warmup_steps=100,
        beta=0.5,
        objective="iwae",
        num_samples=3,
        parameterization="softplus",
    )
    vae.compile(optimizer="adam")
    x = prototypes_data(64)
    vae.fit(x, epochs=1, batch_size=16, verbose=0)
    check_config_round_trip(vae)
    vae.save(tmp_model_path)
    revived = keras.saving.load_model(tmp_model_path)  # safe_mode=True.
    assert isinstance(revived, keras_vae.VAE)
    assert json_normalized(revived.get_config()) == json_normalized(
        vae.get_config()
    )
    assert int(to_numpy(revived.kl_step)) == 4
    np.testing.assert_allclose(
        to_numpy(revived.current_kl_weight()), 0.5 * 4 / 100, rtol=1e-6
    )
    # The sampler's seed state is saved too: the next training call draws
    # the same noise in both models.
    np.testing.assert_array_equal(
        to_numpy(revived(x, training=True)), to_numpy(vae(x, training=True))
    )
    np.testing.assert_array_equal(revived.reconstruct(x), vae.reconstruct(x))
    np.testing.assert_array_equal(
        revived.sample(8, seed=1), vae.sample(8, seed=1)
    )
    # Training goes on from where it was.
    revived.fit(x, epochs=1, batch_size=16, verbose=0)
    assert int(to_numpy(revived.kl_step)) == 4 + 1 + 4  # fit, call, fit.


def test_kl_warmup_in_training_steps():
    vae = mlp_vae(seed=0, beta=2.0, kl_warmup_steps=4)
    vae.compile(optimizer="adam")
    x = prototypes_data(32)
    for step in range(6):
        vae.reset_metrics()
        logs = vae.train_on_batch(x, return_dict=True)
        weight = 2.0 * min(1.0, step / 4)
        np.testing.assert_allclose(
            logs["loss"] - logs["reconstruction"],
            weight * logs["kl"],
            rtol=1e-4,
            atol=1e-4,
        )
    assert int(to_numpy(vae.kl_step)) == 6


def test_mixed_precision():
    keras.config.set_dtype_policy("mixed_bfloat16")
    vae = mlp_vae(seed=0)
    vae.compile(optimizer="adam")
    x = prototypes_data(128)
    history = vae.fit(x, epochs=2, batch_size=32, verbose=0)
    for values in history.history.values():
        assert np.isfinite(values).all()
    # The layers compute in bfloat16, the distributions and the outputs of
    # the inference methods in float32.
    assert dtype_name(vae.decoder(keras.ops.zeros((2, 2)))) == "bfloat16"
    mean, log_var = vae.encode(x[:2])
    assert mean.dtype == log_var.dtype == np.float32
    assert vae.reconstruct(x[:2]).dtype == np.float32
    vae(x[:4], training=True)
    assert all(dtype_name(loss) == "float32" for loss in vae.losses)
    assert np.isfinite(vae.log_likelihood(x[:8], 10, verbose=0)).all()


@pytest.mark.parametrize("value", [1e4, -1e4])
def test_extreme_log_var_gives_finite_losses(value):
    vae = mlp_vae(seed=0)
    vae.compile(optimizer="adam")
    x = prototypes_data(16)
    vae(x)
    bias = to_numpy(vae.encoder_head.bias).copy()
    bias[2:] = value
    vae.encoder_head.bias.assign(bias)
    logs = vae.evaluate(x, verbose=0, return_dict=True)
    assert all(np.isfinite(v) for v in logs.values()), logs


def test_bad_arguments():
    encoder = keras.layers.Dense(3)
    with pytest.raises(ValueError, match="latent_dim=0"):
        keras_vae.VAE(encoder, encoder, latent_dim=0)
    with pytest.raises(ValueError, match="latent_dim='2'"):
        keras_vae.VAE(encoder, encoder, latent_dim="2")
    with pytest.raises(ValueError, match="likelihood='laplace'"):
        keras_vae.VAE(encoder, encoder, 2, likelihood="laplace")
    with pytest.raises(ValueError, match="prior='uniform'"):
        keras_vae.VAE(encoder, encoder, 2, prior="uniform")
    with pytest.raises(ValueError, match="over 3 latent dimensions.*2"):
        keras_vae.VAE(
            encoder, encoder, 2, prior=keras_vae.priors.StandardNormal(3)
        )
    with pytest.raises(ValueError, match="over 3 latent dimensions.*2"):
        keras_vae.VAE(
            encoder,
            encoder,
            2,
            posterior=keras_vae.posteriors.DiagonalGaussian(3),
        )
    with pytest.raises(ValueError, match="posterior=42"):
        keras_vae.VAE(encoder, encoder, 2, posterior=42)
    with pytest.raises(ValueError, match="num_samples=0"):
        keras_vae.VAE(encoder, encoder, 2, num_samples=0)
    with pytest.raises(ValueError, match="objective='vi'"):
        keras_vae.VAE(encoder, encoder, 2, objective="vi")
    with pytest.raises(ValueError, match="encoder=None"):
        keras_vae.VAE(None, encoder, 2)
    with pytest.raises(ValueError, match="gaussian_variance=0"):
        keras_vae.VAE(encoder, encoder, 2, gaussian_variance=0)
    with pytest.raises(ValueError, match="beta=-1"):
        keras_vae.VAE(encoder, encoder, 2, beta=-1)
    vae = mlp_vae()
    with pytest.raises(ValueError, match="num_samples=0"):
        vae.sample(0)
    with pytest.raises(ValueError, match="num_samples=-5"):
        vae.log_likelihood(prototypes_data(2), num_samples=-5)
    with pytest.raises(ValueError, match=r"z.shape=\(3, 5\)"):
        vae.decode(np.zeros((3, 5)))


def test_data_that_does_not_fit_the_model():
    vae = mlp_vae()
    vae.compile(optimizer="adam")
    with pytest.raises(
        ValueError,
        match=r"expects inputs of shape \(None, 8, 8, 1\).*\(4, 28, 28, 1\)",
    ):
        vae.fit(np.zeros((4, 28, 28, 1), "float32"), verbose=0)
    with pytest.raises(ValueError, match="does not fit the model"):
        vae.reconstruct(np.zeros((4, 64), "float32"))
    encoder = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4)])
    decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(7)])
    bad = keras_vae.VAE(encoder, decoder, latent_dim=2)
    with pytest.raises(
        ValueError,
        match=r"for data of shape \(6,\) .* must output \(6,\) per example, "
        r"but it outputs \(7,\)",
    ):
        bad(np.zeros((3, 6), "float32"))


def test_fit_refuses_targets_and_sample_weights():
    vae = mlp_vae()
    vae.compile(optimizer="adam")
    x = prototypes_data(8)
    with pytest.raises(ValueError, match="trains on the data alone"):
        vae.fit(x, x, verbose=0)
    with pytest.raises(ValueError, match="does not support `sample_weight`"):
        vae.fit(x, sample_weight=np.ones(8), verbose=0)


def test_nan_data_is_refused_up_front():
    vae = mlp_vae()
    vae.compile(optimizer="adam")
    x = prototypes_data(8)
    x[3, 2, 1, 0] = np.nan
    with pytest.raises(ValueError, match=r"1 non-finite value.*\(3, 2, 1, 0\)"):
        vae.fit(x, verbose=0)
    with pytest.raises(ValueError, match="`validation_data` contains"):
        vae.fit(prototypes_data(8), validation_data=x, verbose=0)


def test_nan_during_training_stops_with_an_error():
    vae = mlp_vae()
    vae.compile(optimizer="adam")

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 4

        def __getitem__(self, index):
            batch = prototypes_data(8, seed=index)
            if index == 2:
                batch[0, 0, 0, 0] = np.nan
            return batch

    with pytest.raises(FloatingPointError, match="epoch 1, batch 3"):
        vae.fit(Batches(), epochs=2, shuffle=False, verbose=0)


def test_nan_guard_stops_without_syncing_the_training_state():
    # Keras runs `NaNGuard` in a worker thread. On JAX, reading
    # `callback.model` there syncs the training state into the model while
    # the loop donates it to the next step, leaving deleted arrays behind
    # (a flaky "Buffer has been deleted or donated" at the epoch's end).
    class Model:
        stop_training = False

        def jax_state_sync(self):
            raise AssertionError("NaNGuard synced the training state")

    model = Model()
    guard = keras_vae.callbacks.NaNGuard()
    guard.set_model(model)
    guard.on_epoch_begin(0)
    guard.on_train_batch_end(0, {"loss": 1.5})
    assert not model.stop_training
    with pytest.raises(FloatingPointError, match="epoch 1, batch 3"):
        guard.on_train_batch_end(2, {"loss": float("nan")})
    assert model.stop_training


@pytest.mark.parametrize("part", ["default", "mixture", "vamp", "iaf"])
def test_no_warnings_from_our_layers(part):
    # Keras warns about layers it marks built with unbuilt state; neither
    # the model nor its parts may trigger that (or any other warning). The
    # model's noise source once stayed unbuilt, which did.
    import warnings

    from keras_vae import posteriors
    from keras_vae import priors

    kwargs = {
        "default": {},
        "mixture": {"prior": priors.MixtureOfGaussians(3)},
        "vamp": {"prior": priors.VampPrior(3)},
        "iaf": {"posterior": posteriors.InverseAutoregressiveFlow(2)},
    }[part]
    encoder = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8)])
    decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(6)])
    x = (np.random.default_rng(0).random((64, 6)) > 0.5).astype("float32")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        vae = keras_vae.VAE(encoder, decoder, latent_dim=2, seed=0, **kwargs)
        vae.compile(optimizer="adam")
        vae.fit(x, batch_size=32, verbose=0)
        vae.log_likelihood(x, num_samples=4, verbose=0)
    # (Other libraries' deprecation notices, e.g. numpy's about torch's
    # `__array__`, are not ours.)
    ours = [
        str(w.message)
        for w in caught
        if not issubclass(w.category, DeprecationWarning)
    ]
    assert ours == []


def test_preset_of_a_discrete_likelihood(tmp_path):
    # The reference outputs encode the decoded means, which for a Poisson
    # likelihood are not whole numbers: saving once refused them as data.
    encoder = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8)])
    decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(6)])
    vae = keras_vae.VAE(encoder, decoder, latent_dim=2, likelihood="poisson")
    vae(np.zeros((1, 6), "float32"))
    directory = vae.save_to_preset(str(tmp_path / "counts"))
    same = keras_vae.VAE.from_preset(directory)
    x = np.arange(12, dtype="float32").reshape(2, 6)
    np.testing.assert_allclose(same.encode(x)[0], vae.encode(x)[0])
