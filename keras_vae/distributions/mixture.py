"""Mixtures of distributions of one family."""

import keras
from keras import ops

from keras_vae.distributions.distribution import Distribution
from keras_vae.distributions.distribution import float32


def gumbel_argmax(logits, seed, sample_shape):
    """Indices drawn from `softmax(logits)` over the last axis (Gumbel-max),
    shaped `sample_shape + logits.shape[:-1]`, int32."""
    shape = tuple(sample_shape) + tuple(ops.shape(logits))
    uniform = keras.random.uniform(shape, minval=1e-12, maxval=1.0, seed=seed)
    gumbel = -ops.log(-ops.log(uniform))
    return ops.cast(ops.argmax(logits + gumbel, axis=-1), "int32")


class MixtureSameFamily(Distribution):
    """A mixture of `K` distributions of one family, with weights.

    `p(x) = sum_k softmax(mixture_logits)_k p_k(x)`. The components are one
    distribution whose last batch axis indexes the `K` components; the
    log-density is a log-sum-exp over them, stable. Draws are not
    reparameterized through the choice of component.

    Args:
        mixture_logits: tensor `batch_shape + (K,)`. Unnormalized log
            weights of the components.
        components: a `Distribution` with `batch_shape + (K,)` as its batch
            shape.

    Example:

    ```python
    import numpy as np
    from keras_vae import distributions

    components = distributions.Normal(
        np.array([[-2.0], [2.0]]), np.ones((2, 1))  # 2 components in 1-D
    )
    p = distributions.MixtureSameFamily(np.zeros(2), components)
    p.log_prob(np.zeros((5, 1))).shape  # (5,)
    ```
    """

    def __init__(self, mixture_logits, components):
        if not isinstance(components, Distribution):
            raise ValueError(
                "`components` must be a keras_vae Distribution. Received: "
                f"components={components!r}"
            )
        super().__init__(components.event_ndims)
        self.mixture_logits = float32(mixture_logits)
        self.components = components
        num = self.mixture_logits.shape[-1]
        batch = components.batch_shape
        if not batch or (
            num is not None and batch[-1] is not None and batch[-1] != num
        ):
            raise ValueError(
                "The components' last batch axis must index the mixture's "
                f"components: mixture_logits has {num} on its last axis, "
                f"the components' batch shape is {batch}."
            )

    @property
    def num_components(self):
        return self.mixture_logits.shape[-1]

    @property
    def batch_event_shape(self):
        shape = self.components.batch_event_shape
        n = self.event_ndims
        return tuple(shape[: len(shape) - n - 1]) + tuple(
            shape[len(shape) - n :]
        )

    def _log_prob(self, x):
        x = ops.expand_dims(float32(x), -1 - self.event_ndims)
        log_weights = ops.log_softmax(self.mixture_logits, axis=-1)
        return ops.logsumexp(
            log_weights + self.components.log_prob(x), axis=-1
        )

    def _sample(self, seed, sample_shape):
        # Every component draws; the chosen one is kept (K is small).
        draws = self.components.sample(seed=seed, sample_shape=sample_shape)
        if isinstance(seed, int) and not isinstance(seed, bool):
            seed = seed + 1  # Not the components' noise.
        # The weights broadcast against the components' batch shape.
        logits = ops.broadcast_to(
            self.mixture_logits, self.batch_shape + (self.num_components,)
        )
        index = gumbel_argmax(logits, seed, sample_shape)
        # In the draws' dtype: int32 for discrete components (TensorFlow
        # multiplies no int32 by float32).
        mask = ops.one_hot(index, self.num_components, dtype=ops.dtype(draws))
        for _ in range(self.event_ndims):
            mask = ops.expand_dims(mask, -1)
        return ops.sum(draws * mask, axis=-1 - self.event_ndims)

    def mean(self):
        weights = ops.softmax(self.mixture_logits, axis=-1)
        for _ in range(self.event_ndims):
            weights = ops.expand_dims(weights, -1)
        return ops.sum(
            weights * self.components.mean(), axis=-1 - self.event_ndims
        )
