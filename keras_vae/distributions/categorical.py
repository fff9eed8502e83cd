"""Independent categorical distributions over class indices, from logits."""

from keras import ops

from keras_vae.distributions.distribution import Distribution
from keras_vae.distributions.distribution import float32
from keras_vae.distributions.distribution import sum_events
from keras_vae.distributions.mixture import gumbel_argmax


class Categorical(Distribution):
    """Independent categorical distributions over `{0, ..., K - 1}`.

    Each value is a class index with probabilities `softmax(logits)` over
    the logits' trailing class axis: for 8-bit images, one distribution
    over the 256 intensities per pixel (logits shaped
    `data_shape + (256,)`). The class axis is not part of the values:
    `batch_event_shape` is the logits' shape without it, and `event_ndims`
    counts the values' axes only.

    `log_prob(x)` is `log_softmax(logits)` at index `x`, exact and stable
    for any finite logit; float `x` is rounded to the nearest index, and
    an index outside `[0, K - 1]` has log-probability `-inf`. Draws use the
    Gumbel-max trick (not reparameterizable: the values are discrete).

    Args:
        logits: tensor `batch_shape + event_shape + (K,)`. Unnormalized
            log-probabilities of the `K` classes.
        event_ndims: int >= 0. Trailing value axes that form one event
            (for an image `(28, 28, 1)`: 3), the class axis not counted.

    Example:

    ```python
    import numpy as np
    from keras_vae import distributions

    p = distributions.Categorical(np.zeros((2, 4, 256)), event_ndims=1)
    p.log_prob(np.full((2, 4), 7))  # 4 * log(1 / 256) each
    p.mean()  # 127.5 everywhere: the expected index
    p.sample(seed=0, sample_shape=3).shape  # (3, 2, 4), int32
    ```
    """

    def __init__(self, logits, event_ndims):
        super().__init__(event_ndims)
        self.logits = float32(logits)
        if len(self.logits.shape) < 1:
            raise ValueError(
                "`logits` must have a trailing class axis. Received: "
                f"logits of shape {tuple(self.logits.shape)}"
            )

    @property
    def num_classes(self):
        """`K`, the size of the logits' class axis."""
        return self.logits.shape[-1]

    @property
    def batch_event_shape(self):
        return tuple(self.logits.shape)[:-1]

    def probs(self):
        """The probability of each class, `softmax(logits)` (class axis
        last), float32."""
        return ops.softmax(self.logits, axis=-1)

    def log_probs(self):
        """The log-probability of each class, `log_softmax(logits)`."""
        return ops.log_softmax(self.logits, axis=-1)

    def mean(self):
        """The expected index `sum_k p_k k`, float32."""
        classes = ops.arange(self.num_classes, dtype="float32")
        return ops.sum(self.probs() * classes, axis=-1)

    def mode(self):
        """The most probable index (the first of ties), int32."""
        return ops.cast(ops.argmax(self.logits, axis=-1), "int32")

    def entropy(self):
        """The entropy per event, in nats."""
        log_probs = self.log_probs()
        entropy = -ops.sum(ops.exp(log_probs) * log_probs, axis=-1)
        return sum_events(entropy, self.event_ndims)

    def _sample(self, seed, sample_shape):
        return gumbel_argmax(self.logits, seed, sample_shape)

    def _log_prob_elements(self, x):
        num_classes = self.num_classes
        index = ops.cast(ops.round(float32(x)), "int32")
        inside = ops.logical_and(
            ops.greater_equal(index, 0), ops.less(index, num_classes)
        )
        # `one_hot` of a clipped index: torch refuses indices out of range.
        one_hot = ops.one_hot(
            ops.clip(index, 0, num_classes - 1), num_classes, dtype="float32"
        )
        log_prob = ops.sum(one_hot * self.log_probs(), axis=-1)
        return ops.where(inside, log_prob, float("-inf"))
