"""Independent normal distributions."""

import math

from keras import ops

from keras_vae import ops as vae_ops
from keras_vae.distributions.distribution import Distribution
from keras_vae.distributions.distribution import float32
from keras_vae.distributions.distribution import sum_events

_LOG_2PI = math.log(2.0 * math.pi)


class Normal(Distribution):
    """Independent normal distributions: a diagonal Gaussian per event.

    Held as a mean and a log-variance (the form encoders output), clipped
    to `[keras_vae.ops.LOG_VAR_MIN, LOG_VAR_MAX]` so that every variance is
    finite and positive in float32. `Normal(loc, scale)` takes standard
    deviations; `Normal.from_log_var(loc, log_var)` log-variances.

    Args:
        loc: tensor. The means.
        scale: tensor broadcastable to `loc`, > 0. The standard deviations.
        event_ndims: int >= 0. Trailing axes that form one event, default
            1 (a vector, e.g. a latent code).

    Example:

    ```python
    import numpy as np
    from keras_vae import distributions

    q = distributions.Normal(np.zeros((4, 2)), np.ones((4, 2)))
    z = q.sample(seed=0, sample_shape=3)  # (3, 4, 2)
    q.log_prob(z).shape  # (3, 4): one log-density per draw and example
    ```
    """

    def __init__(self, loc, scale, event_ndims=1):
        super().__init__(event_ndims)
        self._init(float32(loc), 2.0 * ops.log(float32(scale)))

    @classmethod
    def from_log_var(cls, loc, log_var, event_ndims=1):
        """A `Normal` from means and log-variances (clipped).

        Args:
            loc: tensor. The means.
            log_var: tensor broadcastable to `loc`. The log-variances.
            event_ndims: int >= 0, as for `Normal`.

        Returns:
            A `Normal`.
        """
        self = cls.__new__(cls)
        Distribution.__init__(self, event_ndims)
        self._init(float32(loc), float32(log_var))
        return self

    def _init(self, loc, log_var):
        log_var = vae_ops.clip_log_var(log_var)
        if tuple(loc.shape) != tuple(log_var.shape):
            # One shape for both (e.g. one learned variance per value).
            loc, log_var = (
                loc + ops.zeros_like(log_var),
                log_var + ops.zeros_like(loc),
            )
        self.loc = loc
        self.log_var = log_var

    @property
    def batch_event_shape(self):
        return tuple(self.loc.shape)

    _ELEMENTWISE = ("loc", "log_var")

    def stddev(self):
        """The standard deviations, float32."""
        return ops.exp(0.5 * self.log_var)

    def variance(self):
        """The variances, float32."""
        return ops.exp(self.log_var)

    def mean(self):
        return self.loc

    def _sample(self, seed, sample_shape):
        shape = sample_shape + tuple(ops.shape(self.loc))
        # The batch axis follows the sample axes (where the loc has one).
        eps = vae_ops.normal_noise(shape, seed, batch_axis=len(sample_shape))
        return self.loc + self.stddev() * eps

    def _log_prob_elements(self, x):
        return -0.5 * (
            ops.square(float32(x) - self.loc) * ops.exp(-self.log_var)
            + self.log_var
            + _LOG_2PI
        )

    def entropy(self):
        """The differential entropy per event, in nats."""
        entropy = 0.5 * (self.log_var + 1.0 + _LOG_2PI)
        return sum_events(entropy, self.event_ndims)
