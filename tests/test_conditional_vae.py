"""ConditionalVAE: the shared model test, the exact conditional likelihood
of a linear-Gaussian model, the one-hot labels, data sets, presets and
errors."""

import os

import keras
import numpy as np
import pytest
from scipy import stats

import keras_vae
from keras_vae.testing import check_bounds
from keras_vae.testing import run_vae_test

DATA_DIM = 6
LATENT_DIM = 2
NUM_CLASSES = 3


def _networks(condition_dim, data_shape=(DATA_DIM,), hidden=16):
    """An encoder `[x, c] -> features` and a linear decoder `[z, c]`."""
    x_in = keras.Input(data_shape)
    c_in = keras.Input((condition_dim,))
    flat = keras.layers.Flatten()(x_in) if len(data_shape) > 1 else x_in
    h = keras.layers.Concatenate()([flat, c_in])
    h = keras.layers.Dense(hidden, activation="tanh")(h)
    encoder = keras.Model([x_in, c_in], h)
    z_in = keras.Input((LATENT_DIM,))
    c_in = keras.Input((condition_dim,))
    h = keras.layers.Concatenate()([z_in, c_in])
    h = keras.layers.Dense(int(np.prod(data_shape)), name="out")(h)
    out = keras.layers.Reshape(data_shape)(h)
    return encoder, keras.Model([z_in, c_in], out)


def _binary_data(n=24, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.random((n, DATA_DIM)) > 0.5).astype("float32")
    labels = rng.integers(0, NUM_CLASSES, size=n)
    return x, labels


def _labelled_cvae(**kwargs):
    encoder, decoder = _networks(NUM_CLASSES)
    return keras_vae.ConditionalVAE(
        encoder,
        decoder,
        latent_dim=LATENT_DIM,
        num_classes=NUM_CLASSES,
        seed=0,
        **kwargs,
    )


def test_run_vae_test_with_labels():
    encoder, decoder = _networks(NUM_CLASSES)
    run_vae_test(
        keras_vae.ConditionalVAE,
        {
            "encoder": encoder,
            "decoder": decoder,
            "latent_dim": LATENT_DIM,
            "num_classes": NUM_CLASSES,
            "seed": 0,
        },
        _binary_data(),
    )


def test_run_vae_test_with_float_conditions_and_iwae():
    encoder, decoder = _networks(4)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(24, DATA_DIM)).astype("float32")
    c = rng.normal(size=(24, 4)).astype("float32")
    run_vae_test(
        keras_vae.ConditionalVAE,
        {
            "encoder": encoder,
            "decoder": decoder,
            "latent_dim": LATENT_DIM,
            "likelihood": "gaussian",
            "objective": "iwae",
            "num_samples": 3,
            "prior": keras_vae.priors.MixtureOfGaussians(2),
            "seed": 0,
        },
        (x, c),
    )


# ----------------------------------------------------------------------
# An exact conditional log-likelihood


def _linear_gaussian_cvae(condition_dim=3, scale=0.3, seed=0):
    """A CVAE with `p(x|z, c) = N(w_z z + w_c c + b, s^2 I)` and, with an
    encoder that outputs zeros, `q(z|x, c) = N(0, I)`: the prior."""
    rng = np.random.default_rng(seed)
    x_in = keras.Input((DATA_DIM,))
    c_in = keras.Input((condition_dim,))
    h = keras.layers.Concatenate()([x_in, c_in])
    h = keras.layers.Dense(4, kernel_initializer="zeros", trainable=False)(h)
    encoder = keras.Model([x_in, c_in], h)
    z_in = keras.Input((LATENT_DIM,))
    c2 = keras.Input((condition_dim,))
    h = keras.layers.Concatenate()([z_in, c2])
    out = keras.layers.Dense(DATA_DIM)(h)
    decoder = keras.Model([z_in, c2], out)
    variance = 0.5
    cvae = keras_vae.ConditionalVAE(
        encoder,
        decoder,
        latent_dim=LATENT_DIM,
        likelihood=keras_vae.likelihoods.Gaussian(variance=variance),
        seed=seed,
    )
    cvae(
        [
            np.zeros((1, DATA_DIM), "float32"),
            np.zeros((1, condition_dim), "float32"),
        ]
    )
    w_z = scale * rng.normal(size=(LATENT_DIM, DATA_DIM))
    w_c = rng.normal(size=(condition_dim, DATA_DIM))
    b = rng.normal(size=DATA_DIM)
    decoder.layers[-1].set_weights(
        [np.concatenate([w_z, w_c]).astype("float32"), b.astype("float32")]
    )
    head = cvae.encoder_head
    head.set_weights([np.zeros_like(w) for w in head.get_weights()])
    return cvae, (w_z, w_c, b, variance)


def test_log_likelihood_matches_the_exact_conditional_density():
    cvae, (w_z, w_c, b, variance) = _linear_gaussian_cvae()
    rng = np.random.default_rng(2)
    n = 16
    c = rng.normal(size=(n, 3)).astype("float32")
    z = rng.normal(size=(n, LATENT_DIM))
    x = z @ w_z + c @ w_c + b + np.sqrt(variance) * rng.normal(size=(n, 6))
    x = x.astype("float32")
    covariance = w_z.T @ w_z + variance * np.eye(DATA_DIM)
    exact = np.array(
        [
            stats.multivariate_normal(c[i] @ w_c + b, covariance).logpdf(x[i])
            for i in range(n)
        ]
    )
    # The condition moves the density: scoring with other conditions
    # gives other (lower) values, so the test sees it used.
    shuffled = np.array(
        [
            stats.multivariate_normal(c[i - 1] @ w_c + b, covariance).logpdf(
                x[i]
            )
            for i in range(n)
        ]
    )
    assert exact.mean() > shuffled.mean() + 1.0
    result = check_bounds(cvae, (x, c), exact=exact, log_likelihood_samples=512)
    assert abs(result["log_likelihood"]["mean"] - exact.mean()) < 0.05
    # The posterior is the prior: the closed-form KL is zero.
    mean, log_var = cvae.encode(x, condition=c)
    np.testing.assert_allclose(mean, 0.0, atol=1e-6)
    np.testing.assert_allclose(log_var, 0.0, atol=1e-6)
    # The decoder's mean for z = 0 is w_c c + b.
    np.testing.assert_allclose(
        cvae.decode(np.zeros((n, LATENT_DIM)), condition=c),
        c @ w_c + b,
        rtol=1e-5,
        atol=1e-5,
    )


# ----------------------------------------------------------------------
# Labels


def test_labels_reach_the_networks_one_hot():
    cvae = _labelled_cvae()
    cvae(cvae._dummy_inputs((DATA_DIM,)))
    kernel, bias = cvae.decoder.get_layer("out").get_weights()
    z = np.zeros((NUM_CLASSES, LATENT_DIM), "float32")
    labels = np.arange(NUM_CLASSES)
    expected = 1 / (1 + np.exp(-(kernel[LATENT_DIM:] + bias)))  # Row d.
    np.testing.assert_allclose(
        cvae.decode(z, condition=labels), expected, rtol=1e-5
    )
    # Labels as (n, 1), as floats holding integers, and one for all.
    np.testing.assert_allclose(
        cvae.decode(z, condition=labels[:, None].astype("float32")),
        expected,
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        cvae.decode(z, condition=2), np.repeat(expected[2:], 3, 0), rtol=1e-5
    )


def test_sample_given_a_class_and_cycling_through_classes():
    cvae = _labelled_cvae()
    cvae(cvae._dummy_inputs((DATA_DIM,)))
    decoder_kernel = cvae.decoder.get_layer("out").get_weights()[0]
    # Make the decoder ignore z: a sample is then its class's image.
    decoder_kernel[:LATENT_DIM] = 0.0
    bias = cvae.decoder.get_layer("out").get_weights()[1]
    cvae.decoder.get_layer("out").set_weights([decoder_kernel, bias])
    twos = cvae.sample(5, condition=2, seed=0)
    np.testing.assert_allclose(twos, np.repeat(twos[:1], 5, 0), rtol=1e-6)
    cycled = cvae.sample(7, seed=0)
    for i in range(7):
        np.testing.assert_allclose(
            cycled[i], cvae.sample(1, condition=i % 3, seed=0)[0], rtol=1e-6
        )
    assert not np.allclose(cycled[0], cycled[1])


def test_fit_takes_lists_datasets_and_validation_pairs():
    import tensorflow as tf

    x, labels = _binary_data(32)
    cvae = _labelled_cvae()
    cvae.compile(optimizer="adam")
    history = cvae.fit(
        [x, labels],
        epochs=1,
        batch_size=16,
        verbose=0,
        validation_data=(x[:8], labels[:8]),
    )
    assert {"val_elbo", "val_kl"} <= set(history.history)
    dataset = tf.data.Dataset.from_tensor_slices((x, labels)).batch(16)
    cvae.fit(dataset.map(lambda a, c: ((a, c),)), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"dataset.map\(lambda x, c"):
        cvae.fit(dataset, epochs=1, verbose=0)


def test_preset_round_trip(tmp_path):
    x_in = keras.Input((4, 4, 1))
    c_in = keras.Input((NUM_CLASSES,))
    h = keras.layers.Concatenate()([keras.layers.Flatten()(x_in), c_in])
    encoder = keras.Model([x_in, c_in], keras.layers.Dense(8)(h))
    z_in = keras.Input((LATENT_DIM,))
    c2 = keras.Input((NUM_CLASSES,))
    h = keras.layers.Dense(16)(keras.layers.Concatenate()([z_in, c2]))
    decoder = keras.Model([z_in, c2], keras.layers.Reshape((4, 4, 1))(h))
    cvae = keras_vae.ConditionalVAE(
        encoder,
        decoder,
        latent_dim=LATENT_DIM,
        num_classes=NUM_CLASSES,
        seed=0,
    )
    x = (np.random.default_rng(0).random((16, 4, 4, 1)) > 0.5).astype("float32")
    labels = np.arange(16) % NUM_CLASSES
    cvae.compile(optimizer="adam")
    cvae.fit((x, labels), epochs=1, batch_size=8, verbose=0)
    directory = cvae.save_to_preset(str(tmp_path / "cvae"))
    assert os.path.exists(os.path.join(directory, "samples.png"))
    loaded = keras_vae.ConditionalVAE.from_preset(directory)
    assert isinstance(loaded, keras_vae.ConditionalVAE)
    np.testing.assert_allclose(
        loaded.reconstruct(x, condition=labels),
        cvae.reconstruct(x, condition=labels),
        rtol=1e-6,
        atol=1e-6,
    )


def test_mixed_bfloat16_trains():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        cvae = _labelled_cvae()
        cvae.compile(optimizer="adam")
        x, labels = _binary_data(16)
        history = cvae.fit((x, labels), epochs=1, batch_size=8, verbose=0)
        assert np.isfinite(history.history["loss"][-1])
        assert cvae.sample(2, condition=1, seed=0).dtype == np.float32
    finally:
        keras.mixed_precision.set_global_policy("float32")


# ----------------------------------------------------------------------
# Errors


def test_errors_name_what_was_wrong():
    cvae = _labelled_cvae()
    cvae.compile(optimizer="adam")
    x, labels = _binary_data(8)
    with pytest.raises(
        ValueError, match=r"pair.*`x` alone, an array of shape \(8, 6\)"
    ):
        cvae.fit(x, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"labels in \[0, 3\).*\[3, 3\]"):
        cvae.sample(2, condition=3)
    with pytest.raises(ValueError, match="8 examples, but 3 conditions"):
        cvae.log_likelihood(x, condition=labels[:3], verbose=0)
    with pytest.raises(ValueError, match="`condition` is required"):
        cvae.encode(x)
    with pytest.raises(ValueError, match=r"labels in \[0, 3\).*float"):
        cvae.decode(np.zeros((2, 2)), condition=[0.5, 1.0])
    with pytest.raises(ValueError, match="Received `inputs` alone"):
        cvae(x)
    with pytest.raises(ValueError, match="pair `\\[x, condition\\]`"):
        cvae([x, labels, labels])
    encoder, decoder = _networks(NUM_CLASSES)
    with pytest.raises(ValueError, match="num_classes=1"):
        keras_vae.ConditionalVAE(encoder, decoder, 2, num_classes=1)
    with pytest.raises(ValueError, match="pseudo-inputs"):
        keras_vae.ConditionalVAE(
            encoder, decoder, 2, prior=keras_vae.priors.VampPrior(4)
        )
    float_cvae = keras_vae.ConditionalVAE(encoder, decoder, 2)
    with pytest.raises(ValueError, match="takes float conditions"):
        keras_vae.evaluation.evaluate(
            float_cvae, "mnist", num_samples=2, limit=4, verbose=0
        )
    with pytest.raises(ValueError, match=r"shape \(n,\) \+ \(3,\)"):
        float_cvae.decode(np.zeros((2, 2)), condition=np.zeros((2, 5)))
