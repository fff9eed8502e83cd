"""Independent Bernoulli distributions, from logits."""

import keras
from keras import ops

from keras_vae import ops as vae_ops
from keras_vae.distributions.distribution import Distribution
from keras_vae.distributions.distribution import float32


class Bernoulli(Distribution):
    """Independent Bernoulli distributions over `{0, 1}`, from logits.

    `log_prob(x) = sum(x * logits - softplus(logits))`, stable for any
    logit. For `x` in `{0, 1}` it is the exact log-probability; for grey
    levels in `[0, 1]` the (unnormalized) negative binary cross-entropy.

    Args:
        logits: tensor. Log-odds of each value being 1.
        event_ndims: int >= 0. Trailing axes that form one event (for an
            image `(28, 28, 1)`: 3).

    Example:

    ```python
    import numpy as np
    from keras_vae import distributions

    p = distributions.Bernoulli(np.zeros((2, 4)), event_ndims=1)
    p.log_prob(np.ones((2, 4)))  # 4 * log(0.5) each
    p.mean()  # 0.5 everywhere
    ```
    """

    def __init__(self, logits, event_ndims):
        super().__init__(event_ndims)
        self.logits = float32(logits)

    @property
    def batch_event_shape(self):
        return tuple(self.logits.shape)

    _ELEMENTWISE = ("logits",)

    def probs(self):
        """The probability of each value being 1."""
        return ops.sigmoid(self.logits)

    def mean(self):
        return self.probs()

    def _sample(self, seed, sample_shape):
        shape = sample_shape + tuple(ops.shape(self.logits))
        uniform = keras.random.uniform(shape, seed=seed)
        return ops.cast(ops.less(uniform, self.probs()), "float32")

    def _log_prob_elements(self, x):
        return float32(x) * self.logits - vae_ops.softplus(self.logits)
