"""The Poisson likelihood, for counts."""

import keras

from keras_vae import distributions
from keras_vae.likelihoods.likelihood import Likelihood
from keras_vae.likelihoods.likelihood import register_alias


@keras.saving.register_keras_serializable(package="keras_vae")
class Poisson(Likelihood):
    """Independent Poissons: the decoder outputs one log-rate per value.

    For count data (events per bin, photon or spike counts, word counts):
    whole numbers `>= 0`, unbounded. The decoder's output is the log of
    each value's rate, shaped like the data (any real number: log-rates
    are clipped to `[-30, 20]`); the mean of `p(x|z)` is the rate.

    Data must be whole numbers `>= 0` (`check_data` refuses others).

    Example:

    ```python
    import numpy as np
    from keras_vae import likelihoods

    likelihood = likelihoods.Poisson()
    likelihood.params_shape((20,))  # (20,): one log-rate per count
    p = likelihood(np.zeros((2, 20), "float32"))  # rate 1 everywhere
    p.log_prob(np.zeros((2, 20)))  # 20 * -1.0 each
    ```
    """

    support = (0.0, float("inf"))
    integer = True

    def describe(self):
        return "poisson"

    def distribution(self, params, event_ndims):
        return distributions.Poisson(params, event_ndims=event_ndims)


register_alias("poisson")(Poisson)
