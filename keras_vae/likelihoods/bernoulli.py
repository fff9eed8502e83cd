"""The Bernoulli likelihood, for binary data."""

import keras

from keras_vae import distributions
from keras_vae.likelihoods.likelihood import Likelihood
from keras_vae.likelihoods.likelihood import register_alias


@keras.saving.register_keras_serializable(package="keras_vae")
class Bernoulli(Likelihood):
    """Independent Bernoullis: the decoder outputs one logit per value.

    For data in `[0, 1]`, ideally binarized (the standard for MNIST
    likelihoods); for grey levels the log-likelihood is the negative
    binary cross-entropy, not a normalized density.

    Example:

    ```python
    import numpy as np
    from keras_vae import likelihoods

    likelihood = likelihoods.Bernoulli()
    likelihood.params_shape((28, 28, 1))  # (28, 28, 1): one logit per pixel
    p = likelihood(np.zeros((2, 28, 28, 1), "float32"))
    p.log_prob(np.ones((2, 28, 28, 1)))  # 784 * log(0.5) each
    ```
    """

    support = (0.0, 1.0)

    def describe(self):
        return "bernoulli"

    def distribution(self, params, event_ndims):
        return distributions.Bernoulli(params, event_ndims=event_ndims)


register_alias("bernoulli")(Bernoulli)
