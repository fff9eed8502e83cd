"""HierarchicalVAE: the shared model test (two and three levels, two
likelihoods, both objectives), the terms of the bound against a numpy
recomputation of every level's densities (two linear-Gaussian levels,
three nonlinear levels, a VampPrior at the top), the KL as the mean of the
log weights, per-level metrics, free bits, sampling, and errors."""

import keras
import numpy as np
import pytest
from keras import ops
from scipy import special

import keras_vae
from keras_vae.models.hierarchical_vae import HierarchicalVAE
from keras_vae.testing import check_bounds
from keras_vae.testing import run_vae_test

DATA_DIM = 6


def _networks(bottom_dim, features=5, activation="tanh"):
    encoder = keras.Sequential(
        [keras.Input((DATA_DIM,)), keras.layers.Dense(features, activation)]
    )
    decoder = keras.Sequential(
        [keras.Input((bottom_dim,)), keras.layers.Dense(DATA_DIM)]
    )
    return encoder, decoder


def _data(n=24, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random((n, DATA_DIM)) > 0.5).astype("float32")


def _hvae(latent_dims=(3, 2), encoder_activation="tanh", **kwargs):
    encoder, decoder = _networks(latent_dims[0], activation=encoder_activation)
    kwargs.setdefault("hidden_units", 8)
    kwargs.setdefault("seed", 0)
    return HierarchicalVAE(encoder, decoder, latent_dims=latent_dims, **kwargs)


def _numpy(tensor):
    return np.asarray(ops.convert_to_numpy(tensor), "float64")


@pytest.mark.parametrize(
    "latent_dims, options",
    [
        ((3, 2), {}),
        ((4, 3, 2), {"likelihood": "gaussian", "objective": "iwae"}),
    ],
    ids=["two_levels", "three_levels_gaussian_iwae"],
)
def test_run_vae_test_and_per_level_metrics(latent_dims, options):
    encoder, decoder = _networks(latent_dims[0])
    iwae = options.get("objective") == "iwae"
    x = _data()
    model = run_vae_test(
        HierarchicalVAE,
        {
            "encoder": encoder,
            "decoder": decoder,
            "latent_dims": latent_dims,
            "hidden_units": 8,
            "num_samples": 2 if iwae else 1,
            "seed": 0,
            **options,
        },
        x,
    )
    # `kl_1` (bottom) to `kl_L` (top), in `fit` and `evaluate` (the steps
    # run_vae_test compiled), with `kl` their sum.
    history = model.fit(
        x, batch_size=len(x), epochs=1, validation_data=x, verbose=0
    ).history
    levels = [f"kl_{i}" for i in range(1, len(latent_dims) + 1)]
    expected = ["elbo", "kl", "loss", "reconstruction"] + levels
    assert sorted(history) == sorted(
        expected + ["val_" + name for name in expected]
    )
    for prefix in ("", "val_"):
        kl_sum = sum(np.array(history[prefix + name]) for name in levels)
        np.testing.assert_allclose(history[prefix + "kl"], kl_sum, rtol=1e-5)
        assert all(history[prefix + name][0] >= 0 for name in levels)
    if not iwae:
        # ELBO <= IWAE bound (k=8), within Monte Carlo error, through
        # `log_likelihood`: the importance weights of every level.
        check_bounds(model, _data(8), elbo_repeats=8, iwae_repeats=4)


# ----------------------------------------------------------------------
# The terms against numpy.


def _activation(name, values):
    if name is None:
        return values
    if name == "tanh":
        return np.tanh(values)
    if name == "elu":
        return np.where(values > 0, values, np.expm1(np.minimum(values, 0)))
    raise ValueError(name)


def _dense(layer, inputs):
    kernel, bias = (w.astype("float64") for w in layer.get_weights())
    name = keras.activations.serialize(layer.activation)
    return _activation(
        None if name == "linear" else name, inputs @ kernel + bias
    )


def _head(layer, features):
    kernel, bias = (w.astype("float64") for w in layer.get_weights())
    out = features @ kernel + bias
    dim = layer.latent_dim
    log_var = np.clip(out[..., dim:], layer.min_log_var, layer.max_log_var)
    return out[..., :dim], log_var


def _log_normal(z, mean, log_var):
    return -0.5 * (
        np.log(2 * np.pi) + log_var + (z - mean) ** 2 / np.exp(log_var)
    ).sum(-1)


def _kl_normal(mean_q, log_var_q, mean_p, log_var_p):
    return 0.5 * (
        log_var_p
        - log_var_q
        + (np.exp(log_var_q) + (mean_q - mean_p) ** 2) / np.exp(log_var_p)
        - 1
    ).sum(-1)


def _reference(hvae, x, zs):
    """Every level's log densities and KLs for the draws `zs` (bottom
    first, `(k, B, dim)`), recomputed in float64 numpy from the weights."""
    levels = len(hvae.latent_dims)

    def bottom_up(inputs):
        features = [_dense(hvae.encoder.layers[0], inputs)]
        for layer in hvae.bottom_up:
            features.append(_dense(layer, features[-1]))
        return features

    d = bottom_up(x.astype("float64"))
    # Top: q(z_L|x) against p(z_L).
    mean, log_var = _head(hvae.encoder_head, d[-1])
    z = zs[-1]
    log_q = _log_normal(z, mean, log_var)
    if isinstance(hvae.prior, keras_vae.priors.VampPrior):
        # A uniform mixture of the top posteriors at the pseudo-inputs.
        u = _numpy(hvae.prior.pseudo_input_values())
        u_mean, u_log_var = _head(hvae.encoder_head, bottom_up(u)[-1])
        log_p = special.logsumexp(
            _log_normal(z[..., None, :], u_mean, u_log_var), axis=-1
        ) - np.log(len(u))
        per_draw = [log_q - log_p]
        kls = [per_draw[0].mean(0)]  # Monte Carlo, as the model.
    else:
        log_p = _log_normal(z, 0.0, 0.0)
        kls = [_kl_normal(mean, log_var, 0.0, 0.0)]
        per_draw = [np.broadcast_to(kls[0], log_q.shape)]
    # Below: p(z_l|z_{l+1}) top-down, q(z_l|x, z_{l+1}) precision-weighted.
    for level in reversed(range(levels - 1)):
        hidden = _dense(hvae.top_down[level], zs[level + 1])
        p_mean, p_log_var = _head(hvae.top_down_heads[level], hidden)
        b_mean, b_log_var = _head(hvae.bottom_up_heads[level], d[level])
        precision = np.exp(-b_log_var) + np.exp(-p_log_var)
        q_log_var = -np.log(precision)
        q_mean = (
            b_mean * np.exp(-b_log_var) + p_mean * np.exp(-p_log_var)
        ) / precision
        log_q = log_q + _log_normal(zs[level], q_mean, q_log_var)
        log_p = log_p + _log_normal(zs[level], p_mean, p_log_var)
        kl = _kl_normal(q_mean, q_log_var, p_mean, p_log_var)  # (k, B)
        per_draw.insert(0, kl)
        kls.insert(0, kl.mean(0))
    logits = _dense(hvae.decoder.layers[0], zs[0])
    log_px = (x * logits - np.logaddexp(0, logits)).sum(-1)
    return {
        "log_px": log_px,
        "log_pz": log_p,
        "log_qz": log_q,
        "kls": kls,
        "kl": sum(kls),
        "kl_per_draw": sum(per_draw),
    }


@pytest.mark.parametrize(
    "latent_dims, activation, prior",
    [
        ((3, 2), None, None),  # Two linear-Gaussian levels, N(0, I) on top.
        ((4, 3, 2), "elu", "vamp"),  # Three nonlinear ones, a VampPrior.
    ],
    ids=["two_linear_gaussian_levels", "three_levels_vamp_prior"],
)
def test_terms_against_numpy(latent_dims, activation, prior):
    if prior == "vamp":
        prior = keras_vae.priors.VampPrior(3)
    hvae = _hvae(latent_dims, activation=activation, prior=prior)
    x = _data(5, seed=1)
    k = 1000
    terms = hvae._terms(
        x, k, keras.random.SeedGenerator(3), training=False, log_weights=True
    )
    zs = [_numpy(z) for z in terms["zs"]]
    assert [z.shape for z in zs] == [(k, 5, d) for d in latent_dims]
    expected = _reference(hvae, x, zs)
    # The log densities of each draw (the log weights of `log_likelihood`
    # and of the IWAE bound) and the KLs.
    tolerance = {"rtol": 1e-4, "atol": 1e-4}
    for name in ("log_px", "log_pz", "log_qz", "kl"):
        np.testing.assert_allclose(
            _numpy(terms[name]), expected[name], err_msg=name, **tolerance
        )
    for level, (kl, reference) in enumerate(zip(terms["kls"], expected["kls"])):
        np.testing.assert_allclose(
            _numpy(kl), reference, err_msg=f"kl_{level + 1}", **tolerance
        )
    # The draws come from the posteriors the KLs are of: `log q - log p`
    # averages to the KL (a lower level's given the draw above) within
    # Monte Carlo error.
    difference = (
        _numpy(terms["log_qz"])
        - _numpy(terms["log_pz"])
        - expected["kl_per_draw"]
    )
    error = difference.std(0, ddof=1) / np.sqrt(k)
    assert np.all(np.abs(difference.mean(0)) <= 5 * error + 1e-4)


# ----------------------------------------------------------------------
# Training: metrics, free bits.


def _losses(hvae, x, state, training):
    """The model's losses `[reconstruction, weighted KL]` and its per-level
    KLs for one call, from the noise state `state`."""
    hvae.sampler.seed_generator.state.assign(state)
    hvae(x, training=training)
    losses = [float(_numpy(loss)) for loss in hvae.losses]
    kls = [float(_numpy(kl)) for kl in hvae._step_terms[2]]
    hvae._step_terms = None
    return losses, kls


def test_free_bits_floor_each_level_in_training_only():
    hvae = _hvae((3, 2), beta=0.5)
    x = _data(8)
    hvae(x)  # Build.
    state = ops.convert_to_numpy(hvae.sampler.seed_generator.state.value)
    (reconstruction, weighted), kls = _losses(hvae, x, state, False)
    np.testing.assert_allclose(weighted, 0.5 * sum(kls), rtol=1e-5)
    # A floor between the two levels' KLs: one is raised, one counts as is.
    assert abs(kls[0] - kls[1]) > 1e-3
    floor = float(np.mean(kls))
    hvae.free_bits = floor
    losses, same_kls = _losses(hvae, x, state, True)
    np.testing.assert_allclose(same_kls, kls, rtol=1e-6)  # Same draws.
    np.testing.assert_allclose(losses[0], reconstruction, rtol=1e-6)
    expected = 0.5 * (max(kls[0], floor) + max(kls[1], floor))
    np.testing.assert_allclose(losses[1], expected, rtol=1e-5)
    assert losses[1] > weighted
    # Outside training, the KLs themselves.
    losses, _ = _losses(hvae, x, state, False)
    np.testing.assert_allclose(losses[1], weighted, rtol=1e-6)


def test_fit_with_free_bits_reports_the_kls_themselves():
    hvae = _hvae(free_bits=5.0)
    hvae.compile(optimizer=keras.optimizers.SGD(0.0))
    x = _data(16)
    logs = hvae.fit(x, batch_size=16, epochs=1, verbose=0).history
    logs = {k: v[-1] for k, v in logs.items()}
    assert logs["kl_1"] < 5.0 and logs["kl_2"] < 5.0  # Untrained: small.
    np.testing.assert_allclose(
        logs["kl"], logs["kl_1"] + logs["kl_2"], rtol=1e-5
    )
    np.testing.assert_allclose(
        logs["loss"], logs["reconstruction"] + 2 * 5.0, rtol=1e-5
    )
    np.testing.assert_allclose(
        logs["elbo"], -(logs["reconstruction"] + logs["kl"]), rtol=1e-5
    )


def test_vamp_prior_at_the_top_trains():
    # Its pseudo-inputs go through the encoder and the bottom-up path to
    # the top posterior (the log densities: `test_terms_against_numpy`).
    prior = keras_vae.priors.VampPrior(4)
    hvae = _hvae(prior=prior, kl_warmup_steps=2)
    hvae.compile(optimizer="adam")
    before = _numpy(prior.pseudo_inputs)
    history = hvae.fit(_data(), epochs=2, batch_size=12, verbose=0)
    assert all(np.isfinite(v) for v in history.history["loss"])
    assert not np.allclose(before, _numpy(prior.pseudo_inputs))
    assert int(_numpy(hvae.kl_step)) == 4
    assert hvae.sample(3, seed=0).shape == (3, DATA_DIM)


# ----------------------------------------------------------------------
# The numpy API.


def test_sample_shapes_and_seeds():
    hvae = _hvae((3, 2, 2))
    samples = hvae.sample(5, seed=1)
    assert samples.shape == (5, DATA_DIM) and samples.dtype == np.float32
    assert np.all((samples >= 0) & (samples <= 1))  # Bernoulli means.
    np.testing.assert_array_equal(samples, hvae.sample(5, seed=1))
    # Every level is drawn at once: the batch size does not matter.
    np.testing.assert_allclose(
        samples, hvae.sample(5, seed=1, batch_size=2), rtol=1e-6, atol=1e-7
    )
    assert not np.array_equal(samples, hvae.sample(5, seed=2))
    # The model's own generator: new draws at every call.
    assert not np.array_equal(hvae.sample(5), hvae.sample(5))
    generator = keras.random.SeedGenerator(7)
    assert hvae.sample(2, seed=generator).shape == (2, DATA_DIM)
    # The lower levels are drawn, not their priors' means: with the top
    # fixed, samples still vary.
    z_top = np.zeros((2, 2), "float32")
    bottom = [_numpy(hvae._bottom_code(z_top, generator)) for _ in range(2)]
    assert not np.allclose(bottom[0], bottom[1])


def test_encode_decode_reconstruct_go_through_the_levels():
    hvae = _hvae()
    x = _data(4)
    hvae(x)  # Build every level.
    mean, log_var = hvae.encode(x)
    assert mean.shape == (4, 2) and log_var.shape == (4, 2)  # The top.
    d = hvae._bottom_up_features(x)[-1]
    np.testing.assert_allclose(
        mean, _numpy(hvae.encoder_head.gaussian(d).loc), rtol=1e-5, atol=1e-6
    )
    # `decode` takes a top code to the bottom through the priors' means.
    z_top = np.random.default_rng(0).normal(size=(3, 2)).astype("float32")
    hidden = _dense(hvae.top_down[0], z_top.astype("float64"))
    bottom, _ = _head(hvae.top_down_heads[0], hidden)
    logits = _dense(hvae.decoder.layers[0], bottom)
    np.testing.assert_allclose(
        hvae.decode(z_top), special.expit(logits), rtol=1e-5, atol=1e-6
    )
    reconstructions = hvae.reconstruct(x)
    assert reconstructions.shape == x.shape
    np.testing.assert_array_equal(reconstructions, hvae.reconstruct(x))
    assert hvae.reconstruct(x, sample=True).shape == x.shape
    assert hvae.interpolate(x[0], x[1], steps=3).shape == (3, DATA_DIM)
    assert hvae.traverse(np.zeros(2), dim=1).shape == (7, DATA_DIM)


def test_mixed_bfloat16():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        hvae = _hvae()
        hvae.compile(optimizer="adam")
        history = hvae.fit(_data(16), epochs=1, batch_size=8, verbose=0)
        assert all(np.isfinite(v[-1]) for v in history.history.values())
        assert hvae.top_down[0].compute_dtype == "bfloat16"
        assert hvae.top_down[0].variable_dtype == "float32"
        assert hvae.sample(2, seed=0).dtype == np.float32
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_errors():
    encoder, decoder = _networks(3)

    def make(**kwargs):
        kwargs.setdefault("latent_dims", (3, 2))
        return HierarchicalVAE(encoder, decoder, **kwargs)

    with pytest.raises(ValueError, match=r"at least two levels.*\(3,\)"):
        make(latent_dims=(3,))
    with pytest.raises(ValueError, match="at least two levels.*=3"):
        make(latent_dims=3)
    with pytest.raises(ValueError, match="latent_dims=0"):
        make(latent_dims=(3, 0))
    with pytest.raises(ValueError, match="latent_dim=2"):
        make(latent_dim=2)
    with pytest.raises(ValueError, match="hidden_units=0"):
        make(hidden_units=0)
    with pytest.raises(ValueError, match="activation='nope'"):
        make(activation="nope")
    with pytest.raises(ValueError, match="activation=<function"):
        make(activation=keras.activations.relu)
    with pytest.raises(ValueError, match="free_bits=-1"):
        make(free_bits=-1)
    with pytest.raises(ValueError, match="objective='mmd'"):
        make(objective="mmd")
    with pytest.raises(ValueError, match="free_bits=1.0, objective='iwae'"):
        make(free_bits=1.0, objective="iwae")
    with pytest.raises(ValueError, match="makes its own posteriors"):
        make(posterior=keras_vae.posteriors.DiagonalGaussian(2))
    hvae = make()
    x = _data(2)
    with pytest.raises(ValueError, match="not conditional.*condition="):
        hvae._terms(x, 1, None, condition=np.ones((2, 1)))
    with pytest.raises(ValueError, match="not conditional.*condition="):
        hvae._sample(2, 0, 8, condition=np.ones((2, 1)))
    with pytest.raises(ValueError, match="num_samples=0"):
        hvae.sample(0)
    with pytest.raises(ValueError, match="batch_size=0"):
        hvae.sample(2, batch_size=0)
    with pytest.raises(ValueError, match=r"z.shape=\(1, 3\)"):
        hvae.decode(np.zeros((1, 3)))  # Top-level codes: 2 dimensions.


def test_preset_and_command_line(tmp_path, capsys):
    from keras_vae import cli
    from keras_vae.training.architectures import mlp

    encoder, decoder = mlp(latent_dim=4, hidden=(16,))
    hvae = keras_vae.HierarchicalVAE(
        encoder, decoder, latent_dims=(4, 2), hidden_units=8, seed=0
    )
    hvae(np.zeros((1, 28, 28, 1), "float32"))
    directory = hvae.save_to_preset(
        str(tmp_path / "tiny_hvae"), metadata={"dataset": "mnist"}
    )
    loaded = keras_vae.VAE.from_preset(directory)
    assert isinstance(loaded, keras_vae.HierarchicalVAE)
    x, _ = keras_vae.datasets.load_binarized_test_set("mnist")
    np.testing.assert_allclose(
        loaded.reconstruct(x[:4]), hvae.reconstruct(x[:4]), rtol=1e-6
    )
    for argv in (
        ["sample", directory, "-n", "4", "-o", str(tmp_path / "s.png")],
        ["reconstruct", directory, "-n", "2", "-o", str(tmp_path / "r.png")],
        ["evaluate", directory, "-k", "3", "--limit", "10"],
    ):
        assert cli.main(argv) == 0, capsys.readouterr().err
