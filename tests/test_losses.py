import keras
import numpy as np
import pytest

from keras_vae import likelihoods
from keras_vae import losses
from keras_vae import ops
from keras_vae.layers import GaussianEncoderHead
from keras_vae.layers import ReparamSampling
from keras_vae.losses import NegativeLogLikelihood
from keras_vae.losses import negative_log_likelihood
from keras_vae.testing import to_numpy


def numpy_bernoulli_nll(x, logits):
    """-log p(x) per example, summed over every other axis (float64)."""
    x, logits = np.float64(x), np.float64(logits)
    p = 1.0 / (1.0 + np.exp(-logits))
    values = x * np.log(p) + (1.0 - x) * np.log1p(-p)
    return -values.reshape(len(x), -1).sum(1)


def numpy_gaussian_nll(x, mean, log_var):
    x, mean = np.float64(x), np.float64(mean)
    log_var = np.broadcast_to(np.float64(log_var), x.shape)
    values = -0.5 * (
        np.square(x - mean) / np.exp(log_var) + log_var + np.log(2 * np.pi)
    )
    return -values.reshape(len(x), -1).sum(1)


def data(shape, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.random(shape) > 0.4).astype("float32")
    logits = rng.normal(scale=2.0, size=shape).astype("float32")
    return x, logits


@pytest.mark.parametrize("shape", [(4, 7), (3, 4, 4, 1)])
def test_bernoulli_against_numpy(shape):
    x, logits = data(shape)
    expected = numpy_bernoulli_nll(x, logits)
    np.testing.assert_allclose(
        to_numpy(negative_log_likelihood(x, logits)), expected, rtol=1e-5
    )
    loss = NegativeLogLikelihood()
    np.testing.assert_allclose(
        to_numpy(loss.call(keras.ops.array(x), keras.ops.array(logits))),
        expected,
        rtol=1e-5,
    )
    # Keras's reduction: the mean over the batch, the sum, none.
    np.testing.assert_allclose(
        to_numpy(loss(x, logits)), expected.mean(), rtol=1e-5
    )
    summed = NegativeLogLikelihood(reduction="sum")
    np.testing.assert_allclose(
        to_numpy(summed(x, logits)), expected.sum(), rtol=1e-5
    )
    unreduced = NegativeLogLikelihood(reduction=None)
    np.testing.assert_allclose(
        to_numpy(unreduced(x, logits)), expected, rtol=1e-5
    )
    weights = np.arange(1, len(x) + 1, dtype="float32")
    np.testing.assert_allclose(
        to_numpy(loss(x, logits, sample_weight=weights)),
        (weights * expected).mean(),
        rtol=1e-5,
    )


def test_gaussian_against_numpy():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 3, 2)).astype("float32")
    mean = rng.normal(size=(5, 3, 2)).astype("float32")
    loss = NegativeLogLikelihood(likelihoods.Gaussian(variance=0.3))
    np.testing.assert_allclose(
        to_numpy(loss(x, mean)),
        numpy_gaussian_nll(x, mean, np.log(0.3)).mean(),
        rtol=1e-5,
    )
    # The unit-variance alias.
    np.testing.assert_allclose(
        to_numpy(negative_log_likelihood(x, mean, likelihood="gaussian")),
        numpy_gaussian_nll(x, mean, 0.0),
        rtol=1e-5,
    )
    # Predicted variance: the decoder outputs (mean, log_var) per value.
    log_var = rng.normal(scale=0.5, size=(5, 3, 2)).astype("float32")
    params = np.stack([mean, log_var], axis=-1)
    loss = NegativeLogLikelihood("gaussian_predicted")
    np.testing.assert_allclose(
        to_numpy(loss(x, params)),
        numpy_gaussian_nll(x, mean, log_var).mean(),
        rtol=1e-5,
    )


def test_sum_over_pixels_is_784_times_binary_crossentropy():
    """Keras's binary cross-entropy is a mean over the pixels; this loss
    sums them (the reason it exists)."""
    x, logits = data((6, 28, 28, 1))
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    np.testing.assert_allclose(
        to_numpy(NegativeLogLikelihood()(x, logits)),
        784 * to_numpy(bce(x, logits)),
        rtol=1e-5,
    )


def test_config_and_serialization():
    for likelihood, stored in [
        ("bernoulli", "bernoulli"),
        ("gaussian", "gaussian"),
        (likelihoods.Gaussian("predicted"), "gaussian_predicted"),
    ]:
        loss = NegativeLogLikelihood(likelihood, reduction="sum", name="nll")
        config = loss.get_config()
        assert config == {
            "name": "nll",
            "reduction": "sum",
            "likelihood": stored,
        }
        revived = NegativeLogLikelihood.from_config(config)
        assert revived.get_config() == config
    loss = NegativeLogLikelihood(likelihoods.Gaussian(variance=0.1))
    serialized = keras.saving.serialize_keras_object(loss)
    assert serialized["registered_name"] == "keras_vae>NegativeLogLikelihood"
    revived = keras.saving.deserialize_keras_object(serialized)
    assert isinstance(revived, NegativeLogLikelihood)
    assert revived.likelihood.variance == 0.1
    assert revived.get_config() == loss.get_config()


@pytest.mark.parametrize(
    "likelihood",
    ["gaussian_learned", "gaussian_learned_object", "gaussian_learned_dict"],
)
def test_learned_variance_is_refused(likelihood):
    if likelihood == "gaussian_learned_object":
        likelihood = likelihoods.Gaussian("learned")
    elif likelihood == "gaussian_learned_dict":
        likelihood = keras.saving.serialize_keras_object(
            likelihoods.Gaussian("learned")
        )
    with pytest.raises(ValueError, match="learned variance.*cannot train"):
        NegativeLogLikelihood(likelihood)
    with pytest.raises(ValueError, match="learned variance.*cannot train"):
        negative_log_likelihood(
            np.zeros((2, 3)), np.zeros((2, 3)), likelihood=likelihood
        )


def test_bad_arguments():
    with pytest.raises(ValueError, match="Unknown likelihood.*'bernouilli'"):
        NegativeLogLikelihood("bernouilli")
    loss = NegativeLogLikelihood("gaussian_predicted")
    with pytest.raises(ValueError, match=r"must output \(3, 2\) per example"):
        loss(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="reduction"):
        NegativeLogLikelihood(reduction="median")


def build_functional_vae(kl_weight=1.0, seed=0):
    """A VAE for 28x28 images from the drop-in layers, no VAE model."""
    inputs = keras.Input((28, 28, 1))
    h = keras.layers.Dense(16, activation="tanh")(
        keras.layers.Flatten()(inputs)
    )
    mean, log_var = GaussianEncoderHead(latent_dim=2)(h)
    z = ReparamSampling(kl_weight=kl_weight, inference="mean", seed=seed)(
        [mean, log_var]
    )
    logits = keras.layers.Reshape((28, 28, 1))(keras.layers.Dense(784)(z))
    return keras.Model(inputs, logits)


def binary_images(count, seed=0):
    """Binary 28x28 images, each pixel with its own probability."""
    rng = np.random.default_rng(seed)
    probs = rng.beta(0.5, 0.5, size=(1, 28, 28, 1))
    return (rng.random((count, 28, 28, 1)) < probs).astype("float32")


def test_functional_vae_trains_on_the_summed_loss():
    """compile(loss=NegativeLogLikelihood()) + ReparamSampling's add_loss
    KL is the negative ELBO, in nats per example, and it trains."""
    x = binary_images(64)
    model = build_functional_vae(kl_weight=1.0)
    model.compile(
        optimizer=keras.optimizers.Adam(0.01), loss=NegativeLogLikelihood()
    )
    first = model.evaluate(x, x, batch_size=64, verbose=0)
    history = model.fit(x, x, epochs=5, batch_size=16, verbose=0)
    losses_ = history.history["loss"]
    assert np.isfinite(losses_).all()
    last = model.evaluate(x, x, batch_size=64, verbose=0)
    assert last < first - 50.0, (first, last)  # Nats per example.
    # evaluate (inference="mean": deterministic): the reconstruction summed
    # over the 784 pixels, plus the KL summed over the latent dimensions.
    logits = model.predict(x, verbose=0)
    flat = model.layers[2](model.layers[1](x))
    mean, log_var = model.layers[3](flat)
    kl = to_numpy(ops.kl_divergence_standard_normal(mean, log_var)).mean()
    expected = numpy_bernoulli_nll(x, logits).mean() + kl
    np.testing.assert_allclose(last, expected, rtol=1e-4)
    # 784 times the mean binary cross-entropy, plus the KL.
    model.compile(
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
    )
    bce = model.evaluate(x, x, batch_size=64, verbose=0) - kl
    np.testing.assert_allclose(last - kl, 784 * bce, rtol=1e-4)


def test_saved_model_keeps_its_loss(tmp_model_path):
    """A `.keras` file of a model compiled with the loss loads in safe mode
    with the loss (and its likelihood) restored."""
    x = binary_images(8)
    model = build_functional_vae(kl_weight=0.0)
    model.compile(optimizer="adam", loss=NegativeLogLikelihood(reduction="sum"))
    model.fit(x, x, epochs=1, batch_size=8, verbose=0)
    expected = model.evaluate(x, x, batch_size=8, verbose=0)
    model.save(tmp_model_path)
    revived = keras.saving.load_model(tmp_model_path, safe_mode=True)
    loss = revived.loss
    assert isinstance(loss, NegativeLogLikelihood)
    assert loss.reduction == "sum"
    np.testing.assert_allclose(
        revived.evaluate(x, x, batch_size=8, verbose=0), expected, rtol=1e-5
    )


def test_public_names():
    assert sorted(losses.__all__) == [
        "NegativeLogLikelihood",
        "negative_log_likelihood",
    ]
