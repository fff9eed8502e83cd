"""A distribution pushed through a flow (an invertible, shape-keeping map)."""

from keras_vae.distributions.distribution import Distribution
from keras_vae.distributions.distribution import float32


class Transformed(Distribution):
    """A distribution transformed by a flow: `y = f(z)`, `z ~ base`.

    A *flow* is any object with `forward_and_log_det(z) -> (y, log_det)`:
    it maps values `z` shaped `sample_shape + batch_shape + event_shape` to
    values `y` of the same shape, and returns `log |det dy/dz|` summed over
    the event axes, one number per draw and element of the batch. By the
    change of variables, `log q(y) = log q_base(z) - log_det`.

    `sample_and_log_prob` draws `z` with its base log-density and pushes
    it through the flow in one pass, so the flow needs no inverse (as in
    distrax): this is how a VAE scores its posterior's draws. `log_prob` of
    an arbitrary `y` needs the inverse, so it works only when the flow
    also has `inverse_and_log_det(y) -> (z, log |det dz/dy|)`; an inverse
    autoregressive flow has none that is cheap. There is no closed-form
    `mean`: average draws instead.

    Draws are reparameterized when the base's are and the flow is
    differentiable.

    Args:
        base: a `Distribution`. The distribution of `z`; kept as `base`.
        flow: the flow, see above. It must keep the shape of its input.

    Example:

    ```python
    import math

    import numpy as np
    from keras import ops
    from keras_vae import distributions
    from keras_vae.distributions.transformed import Transformed

    class Double:  # y = 2 z, so log |det dy/dz| = L log 2.
        def forward_and_log_det(self, z):
            log_det = z.shape[-1] * math.log(2.0)
            return 2.0 * z, log_det * ops.ones(z.shape[:-1])

    base = distributions.Normal(np.zeros((4, 2)), np.ones((4, 2)))
    q = Transformed(base, Double())
    y, log_q = q.sample_and_log_prob(seed=0, sample_shape=3)
    print(y.shape, log_q.shape)  # (3, 4, 2) (3, 4)
    ```
    """

    def __init__(self, base, flow):
        if not isinstance(base, Distribution):
            raise ValueError(
                "`base` must be a keras_vae Distribution. Received: "
                f"base={base!r}"
            )
        if not callable(getattr(flow, "forward_and_log_det", None)):
            raise ValueError(
                "`flow` must have a method `forward_and_log_det(z)` returning "
                f"`(y, log_det)`. Received: flow={flow!r}"
            )
        super().__init__(base.event_ndims)
        self.base = base
        self.flow = flow

    @property
    def batch_event_shape(self):
        return self.base.batch_event_shape

    def _forward(self, z):
        y, log_det = self.flow.forward_and_log_det(z)
        return float32(y), float32(log_det)

    def _sample(self, seed, sample_shape):
        z = self.base.sample(seed=seed, sample_shape=sample_shape)
        return self._forward(z)[0]

    def sample_and_log_prob(self, seed=None, sample_shape=()):
        z, log_q = self.base.sample_and_log_prob(
            seed=seed, sample_shape=sample_shape
        )
        y, log_det = self._forward(z)
        return y, log_q - log_det

    def _log_prob(self, x):
        inverse = getattr(self.flow, "inverse_and_log_det", None)
        if not callable(inverse):
            raise NotImplementedError(
                f"`Transformed.log_prob` needs the inverse of its flow "
                f"({type(self.flow).__name__}), which has no "
                "`inverse_and_log_det`. Draw and score together with "
                "`sample_and_log_prob(seed, sample_shape)` instead: it needs "
                "no inverse."
            )
        z, log_det_inverse = inverse(float32(x))
        return self.base.log_prob(z) + float32(log_det_inverse)

    def mean(self):
        raise NotImplementedError(
            "A `Transformed` distribution has no closed-form mean. Estimate "
            "it from draws, e.g. `keras.ops.mean(q.sample(seed, "
            "sample_shape=100), axis=0)`, or use the mean of `q.base`."
        )

    def __repr__(self):
        return (
            f"<Transformed base={self.base!r} flow={type(self.flow).__name__}>"
        )
