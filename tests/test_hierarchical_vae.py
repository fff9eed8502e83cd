"""HierarchicalVAE: the shared model test, the terms of two linear-Gaussian
levels against a hand computation in numpy, free bits, VampPrior at the
top, three levels, and errors."""

import keras
import numpy as np
import pytest
from scipy import special

import keras_vae
from keras_vae.testing import check_bounds
from keras_vae.testing import run_vae_test

DATA_DIM = 6


def _networks(bottom_dim, features=5, activation=None):
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
    return keras_vae.HierarchicalVAE(
        encoder, decoder, latent_dims=latent_dims, **kwargs
    )


@pytest.mark.parametrize("latent_dims", [(3, 2), (4, 3, 2)])
def test_run_vae_test(latent_dims):
    encoder, decoder = _networks(latent_dims[0], activation="tanh")
    model = run_vae_test(
        keras_vae.HierarchicalVAE,
        {
            "encoder": encoder,
            "decoder": decoder,
            "latent_dims": latent_dims,
            "hidden_units": 8,
            "seed": 0,
        },
        _data(),
    )
    check_bounds(model, _data(8), elbo_repeats=8, iwae_repeats=4)


def _log_normal(x, mean, log_var):
    return -0.5 * (
        np.log(2 * np.pi) + log_var + (x - mean) ** 2 / np.exp(log_var)
    )


def _head(layer, features):
    kernel, bias = (w.astype("float64") for w in layer.get_weights())
    out = features @ kernel + bias
    dim = layer.latent_dim
    return out[..., :dim], out[..., dim:]


def test_terms_of_two_linear_gaussian_levels_by_hand():
    hvae = _hvae(activation=None, encoder_activation=None)
    x = _data(5, seed=1)
    terms = hvae._terms(x, 1, keras.random.SeedGenerator(3))
    z1, z2 = (
        np.asarray(keras.ops.convert_to_numpy(z[0]), "float64")
        for z in terms["zs"]
    )

    def dense(layer, inputs):
        kernel, bias = (w.astype("float64") for w in layer.get_weights())
        return inputs @ kernel + bias

    d1 = dense(hvae.encoder.layers[0], x.astype("float64"))
    d2 = dense(hvae.bottom_up[0], d1)
    # Top: q(z2|x) against N(0, I).
    mean2, log_var2 = _head(hvae.encoder_head, d2)
    log_q2 = _log_normal(z2, mean2, log_var2).sum(1)
    log_p2 = _log_normal(z2, 0.0, 0.0).sum(1)
    kl2 = 0.5 * (mean2**2 + np.exp(log_var2) - 1 - log_var2).sum(1)
    # Below: p(z1|z2) top-down, q(z1|x, z2) precision-weighted.
    prior_mean, prior_log_var = _head(
        hvae.top_down_heads[0], dense(hvae.top_down[0], z2)
    )
    bu_mean, bu_log_var = _head(hvae.bottom_up_heads[0], d1)
    precision = np.exp(-bu_log_var) + np.exp(-prior_log_var)
    q_log_var = -np.log(precision)
    q_mean = (
        bu_mean * np.exp(-bu_log_var) + prior_mean * np.exp(-prior_log_var)
    ) / precision
    log_q1 = _log_normal(z1, q_mean, q_log_var).sum(1)
    log_p1 = _log_normal(z1, prior_mean, prior_log_var).sum(1)
    kl1 = 0.5 * (
        prior_log_var
        - q_log_var
        + (np.exp(q_log_var) + (q_mean - prior_mean) ** 2)
        / np.exp(prior_log_var)
        - 1
    ).sum(1)
    logits = dense(hvae.decoder.layers[0], z1)
    log_px = (x * logits - np.logaddexp(0, logits)).sum(1)

    def value(name, index=None):
        tensor = terms[name] if index is None else terms[name][index]
        return np.asarray(keras.ops.convert_to_numpy(tensor), "float64")

    tolerance = {"rtol": 1e-4, "atol": 1e-4}
    np.testing.assert_allclose(value("kls", 1), kl2, **tolerance)
    np.testing.assert_allclose(value("kls", 0), kl1, **tolerance)
    np.testing.assert_allclose(value("kl"), kl1 + kl2, **tolerance)
    np.testing.assert_allclose(value("log_px")[0], log_px, **tolerance)
    np.testing.assert_allclose(value("log_qz")[0], log_q1 + log_q2, **tolerance)
    np.testing.assert_allclose(value("log_pz")[0], log_p1 + log_p2, **tolerance)
    # The ELBO of one draw: log p(x|z1) - KL1 - KL2 in expectation; the
    # log weight's expectation is the same bound.
    assert np.isfinite(
        special.logsumexp(log_px + log_p1 + log_p2 - log_q1 - log_q2)
    )


def test_fit_reports_each_level_and_free_bits_floor_the_loss():
    hvae = _hvae(free_bits=5.0)
    hvae.compile(optimizer=keras.optimizers.SGD(0.0))
    x = _data(16)
    logs = hvae.fit(x, batch_size=16, epochs=1, verbose=0).history
    logs = {k: v[-1] for k, v in logs.items()}
    np.testing.assert_allclose(
        logs["kl"], logs["kl_1"] + logs["kl_2"], rtol=1e-5
    )
    assert logs["kl_1"] < 5.0 and logs["kl_2"] < 5.0  # Untrained: small.
    # Each level counted at 5 nats at least; the metrics report the KLs.
    np.testing.assert_allclose(
        logs["loss"],
        logs["reconstruction"]
        + max(logs["kl_1"], 5.0)
        + max(logs["kl_2"], 5.0),
        rtol=1e-5,
    )
    results = hvae.evaluate(x, batch_size=16, verbose=0, return_dict=True)
    np.testing.assert_allclose(  # No free bits outside training.
        results["loss"], results["reconstruction"] + results["kl"], rtol=1e-5
    )


def test_vamp_prior_at_the_top_and_iwae():
    hvae = _hvae(
        prior=keras_vae.priors.VampPrior(4), objective="iwae", num_samples=3
    )
    hvae.compile(optimizer="adam")
    history = hvae.fit(_data(), epochs=2, batch_size=8, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    log_px = hvae.log_likelihood(_data(4), num_samples=10, verbose=0)
    assert np.all(np.isfinite(log_px))


def test_numpy_api_goes_through_the_levels():
    hvae = _hvae()
    x = _data(4)
    hvae(x)
    # `decode` takes a top code to the bottom through the priors' means.
    z_top = np.random.default_rng(0).normal(size=(3, 2)).astype("float32")
    bottom = keras.ops.convert_to_numpy(hvae._bottom_code(z_top))
    np.testing.assert_allclose(
        hvae.decode(z_top),
        1 / (1 + np.exp(-keras.ops.convert_to_numpy(hvae.decoder(bottom)))),
        rtol=1e-5,
    )
    np.testing.assert_array_equal(
        hvae.sample(3, seed=1), hvae.sample(3, seed=1)
    )
    assert not np.array_equal(hvae.sample(3, seed=1), hvae.sample(3, seed=2))
    assert hvae.reconstruct(x).shape == x.shape
    mean, log_var = hvae.encode(x)
    assert mean.shape == (4, 2) and log_var.shape == (4, 2)


def test_mixed_bfloat16():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        hvae = _hvae()
        hvae.compile(optimizer="adam")
        history = hvae.fit(_data(16), epochs=1, batch_size=8, verbose=0)
        assert np.isfinite(history.history["loss"][-1])
        assert hvae.sample(2, seed=0).dtype == np.float32
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_errors():
    encoder, decoder = _networks(3)
    make = keras_vae.HierarchicalVAE
    with pytest.raises(ValueError, match=r"at least two levels.*\(3,\)"):
        make(encoder, decoder, latent_dims=(3,))
    with pytest.raises(ValueError, match="latent_dims=0"):
        make(encoder, decoder, latent_dims=(3, 0))
    with pytest.raises(ValueError, match="objective='mmd'"):
        make(encoder, decoder, latent_dims=(3, 2), objective="mmd")
    with pytest.raises(ValueError, match="makes its own posteriors"):
        make(
            encoder,
            decoder,
            latent_dims=(3, 2),
            posterior=keras_vae.posteriors.DiagonalGaussian(2),
        )
    with pytest.raises(ValueError, match="free_bits=-1"):
        make(encoder, decoder, latent_dims=(3, 2), free_bits=-1)
    with pytest.raises(ValueError, match="hidden_units=0"):
        make(encoder, decoder, latent_dims=(3, 2), hidden_units=0)


def test_preset_and_command_line(tmp_path, capsys):
    from keras_vae import cli
    from zoo.architectures import mlp

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
