"""Keras losses for VAEs written as plain Functional models.

`NegativeLogLikelihood` is the reconstruction term of a VAE as a Keras loss:
`-log p(x|z)`, **summed** over every value of an example (one number per
example, in nats), then averaged over the batch as any Keras loss is. Use it
with `keras_vae.layers.GaussianEncoderHead` and
`keras_vae.layers.ReparamSampling`, whose `add_loss` KL is summed over the
latent dimensions too, so that the two terms of the ELBO are on one scale.

Why not `loss="binary_crossentropy"`: Keras's cross-entropy is a **mean**
over the last axis (and `mse` too), so on 28x28 MNIST the reconstruction
term is 784 times smaller than `-log p(x|z)`, while the KL added by the
sampling layer is a sum over the latent dimensions. The KL then wins 784 to
1, the encoder matches the prior for every input, the decoder ignores `z`
(posterior collapse), and samples are one blurred mean image.
"""

import keras

from keras_vae import likelihoods

_LEARNED_ERROR = (
    "The {name!r} likelihood holds weights of its own (a learned "
    "variance), which a Keras loss cannot train: the model does not see "
    "the loss's weights. Use a fixed variance, e.g. "
    "`likelihoods.Gaussian(variance=0.1)`, or `likelihoods.Gaussian("
    "'predicted')` (the decoder outputs a mean and a log-variance per "
    "value), or the `keras_vae.VAE` model, which trains the likelihood's "
    "weights. Received: likelihood={likelihood!r}"
)


def _check_stateless(likelihood, identifier):
    """Refuses a likelihood that holds (or, once built, would hold)
    weights: a loss's weights are not the model's, so nothing trains them.
    """
    if likelihood.weights:
        raise ValueError(
            _LEARNED_ERROR.format(
                name=likelihood.describe(), likelihood=identifier
            )
        )
    if likelihood.built:
        return
    # A copy, built for data of one value, tells whether `build` adds
    # weights (as `Gaussian("learned")` does) without building the
    # likelihood itself. Likelihoods that cannot build so are checked again
    # at the first call.
    try:
        probe = likelihoods.get(likelihoods.serialize(likelihood))
        probe.build((None,) + probe.params_shape((1,)))
    except Exception:
        return
    if probe.weights:
        raise ValueError(
            _LEARNED_ERROR.format(
                name=likelihood.describe(), likelihood=identifier
            )
        )


def _stateless_likelihood(identifier):
    likelihood = likelihoods.get(identifier)
    _check_stateless(likelihood, identifier)
    return likelihood


def _negative_log_likelihood(likelihood, y_true, y_pred):
    data_shape = tuple(y_true.shape[1:])
    likelihood.check_params(tuple(y_pred.shape[1:]), data_shape)
    # `distribution`, not the layer's `__call__`: no autocast of the
    # parameters to a mixed-precision compute dtype (distributions compute
    # in float32 anyway).
    p = likelihood.distribution(y_pred, event_ndims=len(data_shape))
    if likelihood.weights:  # Built by this call (see `_check_stateless`).
        raise ValueError(
            _LEARNED_ERROR.format(
                name=likelihood.describe(), likelihood=likelihood
            )
        )
    return -p.log_prob(y_true)


def negative_log_likelihood(y_true, y_pred, likelihood="bernoulli"):
    """`-log p(y_true | y_pred)` per example, summed over its values.

    The reconstruction term of a VAE's loss: the likelihood built from the
    decoder's output `y_pred` (logits for `"bernoulli"`, means for
    `"gaussian"`, ...), scored on the data `y_true`, summed over every
    value of an example, never averaged (see the module's doc for why).

    Args:
        y_true: tensor `(batch, ...)`. The data.
        y_pred: tensor `(batch, ...) + extra`: the decoder's output, the
            likelihood's parameters (`likelihood.params_shape` per example).
        likelihood: a likelihood identifier (`keras_vae.likelihoods.get`):
            `"bernoulli"` (default), `"gaussian"`, a config dict or a
            `Likelihood`. One with weights of its own (`"gaussian_learned"`)
            is refused.

    Returns:
        A float32 tensor `(batch,)`, in nats.

    Raises:
        ValueError: the likelihood holds weights, or `y_pred` does not fit
            it for data shaped like `y_true`.

    Example:

    ```python
    import numpy as np
    from keras_vae import losses

    x = np.ones((2, 784), "float32")
    logits = np.zeros((2, 784), "float32")
    losses.negative_log_likelihood(x, logits)  # 784 * log(2) = 543.4 each
    ```
    """
    likelihood = _stateless_likelihood(likelihood)
    y_true = keras.ops.convert_to_tensor(y_true)
    y_pred = keras.ops.convert_to_tensor(y_pred)
    return _negative_log_likelihood(likelihood, y_true, y_pred)


@keras.saving.register_keras_serializable(package="keras_vae")
class NegativeLogLikelihood(keras.losses.Loss):
    """The negative log-likelihood of the data, summed over its values.

    `call(y_true, y_pred)` is `-likelihood(y_pred).log_prob(y_true)`: the
    decoder's output `y_pred` parameterizes the likelihood `p(x|z)`, which
    scores the data `y_true`, summed over every value of an example (one
    number per example, in nats); `reduction` then averages (by default)
    over the batch. With `keras_vae.layers.ReparamSampling` adding the KL
    divergence (summed over the latent dimensions) through `add_loss`, the
    model's loss is the negative ELBO, in nats per example.

    Why not `"binary_crossentropy"`: Keras's cross-entropy averages over the
    values of an example, so for 28x28 images the reconstruction term is
    784 times smaller than `-log p(x|z)`, while the KL is summed over the
    latent dimensions: the KL wins 784 to 1, every `q(z|x)` collapses onto
    the prior and the decoder ignores `z` (posterior collapse). This loss
    sums, so `loss == 784 * binary_crossentropy` for the Bernoulli
    likelihood.

    Likelihoods with weights of their own (`"gaussian_learned"`, a learned
    variance) are refused with a ValueError: a loss's weights are not part
    of the model, so nothing would train them. Use a fixed variance, the
    `likelihoods.Gaussian("predicted")` likelihood (the decoder predicts
    the variance), or the `keras_vae.VAE` model.

    Args:
        likelihood: a likelihood identifier (`keras_vae.likelihoods.get`):
            `"bernoulli"` (default; the decoder outputs logits),
            `"gaussian"` (unit variance; the decoder outputs means), a
            config dict or a `keras_vae.likelihoods.Likelihood` without
            weights.
        reduction: str or None. Keras's reduction over the batch, default
            `"sum_over_batch_size"` (the mean over examples).
        name: str. The loss's name, default `"negative_log_likelihood"`.

    Call arguments:
        y_true: tensor `(batch, ...)`. The data.
        y_pred: tensor: the decoder's output, `(batch,) +
            likelihood.params_shape(data_shape)`.

    Example:

    ```python
    import keras
    import numpy as np
    import keras_vae
    from keras_vae.losses import NegativeLogLikelihood

    inputs = keras.Input((16,))
    h = keras.layers.Dense(32, activation="relu")(inputs)
    mean, log_var = keras_vae.layers.GaussianEncoderHead(latent_dim=2)(h)
    z = keras_vae.layers.ReparamSampling(seed=0)([mean, log_var])
    logits = keras.layers.Dense(16)(z)
    model = keras.Model(inputs, logits)
    model.compile(optimizer="adam", loss=NegativeLogLikelihood())
    x = (np.random.rand(64, 16) > 0.5).astype("float32")
    model.fit(x, x, epochs=1, batch_size=32, verbose=0)  # - ELBO, in nats
    ```
    """

    def __init__(
        self,
        likelihood="bernoulli",
        reduction="sum_over_batch_size",
        name="negative_log_likelihood",
    ):
        super().__init__(name=name, reduction=reduction)
        self.likelihood = _stateless_likelihood(likelihood)

    def call(self, y_true, y_pred):
        return _negative_log_likelihood(self.likelihood, y_true, y_pred)

    def get_config(self):
        config = super().get_config()
        config["likelihood"] = likelihoods.serialize(self.likelihood)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["likelihood"] = likelihoods.get(config["likelihood"])
        return cls(**config)


__all__ = ["NegativeLogLikelihood", "negative_log_likelihood"]
