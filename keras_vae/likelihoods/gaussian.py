"""The Gaussian likelihood: fixed, learned or predicted variance."""

import math

import keras
from keras import ops

from keras_vae import _validation
from keras_vae import distributions
from keras_vae.likelihoods.likelihood import Likelihood
from keras_vae.likelihoods.likelihood import register_alias

_MODES = ("learned", "predicted")


@keras.saving.register_keras_serializable(package="keras_vae")
class Gaussian(Likelihood):
    """Independent Gaussians around the decoder's output.

    Args:
        variance: the variance of every value: a float > 0 (fixed, default
            1.0); `"learned"`, one variance per value learned as a weight
            of this layer (shared by all examples); or `"predicted"`, the
            decoder outputs a mean and a log-variance per value (its
            output gets a trailing axis of 2: `[..., 0]` the mean,
            `[..., 1]` the log-variance).
        **kwargs: base layer arguments (`name`, `dtype`).

    Example:

    ```python
    import numpy as np
    from keras_vae import likelihoods

    fixed = likelihoods.Gaussian(variance=0.1)
    predicted = likelihoods.Gaussian(variance="predicted")
    predicted.params_shape((32,))  # (32, 2): a mean and a log-variance
    ```
    """

    def __init__(self, variance=1.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(variance, str):
            variance = _validation.one_of("variance", variance, _MODES)
        else:
            variance = _validation.positive_float("variance", variance)
        self.variance = variance
        self.param_axes = 1 if variance == "predicted" else 0

    def describe(self):
        if self.variance == "learned":
            return "gaussian_learned"
        if self.variance == "predicted":
            return "gaussian_predicted"
        return "gaussian"

    def _extra_params_shape(self, data_shape):
        return (2,) if self.variance == "predicted" else ()

    def build(self, params_shape):
        if self.variance == "learned":
            shape = self.data_shape or tuple(params_shape[1:])
            self.log_var = self.add_weight(
                name="log_var",
                shape=shape,
                initializer="zeros",
                autocast=False,
            )

    def distribution(self, params, event_ndims):
        params = ops.cast(params, "float32")
        if self.variance == "predicted":
            return distributions.Normal.from_log_var(
                params[..., 0], params[..., 1], event_ndims=event_ndims
            )
        if self.variance == "learned":
            log_var = ops.cast(self.log_var, "float32")
        else:
            log_var = ops.full((), math.log(self.variance), "float32")
        return distributions.Normal.from_log_var(
            params, log_var, event_ndims=event_ndims
        )

    def get_config(self):
        config = super().get_config()
        config["variance"] = self.variance
        return config


register_alias("gaussian")(Gaussian)
register_alias("gaussian_learned")(lambda: Gaussian(variance="learned"))
register_alias("gaussian_predicted")(lambda: Gaussian(variance="predicted"))
