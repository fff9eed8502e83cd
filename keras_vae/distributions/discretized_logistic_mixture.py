"""Mixtures of discretized logistics (PixelCNN++), for 8-bit data."""

import math
import numbers

import keras
from keras import ops

from keras_vae.distributions.distribution import Distribution
from keras_vae.distributions.distribution import float32
from keras_vae.distributions.mixture import gumbel_argmax

LOG_SCALE_MIN = -7.0
"""Log-scales are clipped from below to this (PixelCNN++'s bound): a
sharper logistic puts all its mass in one bin anyway."""

LOG_SCALE_MAX = 20.0
"""Log-scales are clipped from above to this, so that a bin's width in
scales stays a normal float32."""


def _check_grid(num_bins, low, high):
    if (
        isinstance(num_bins, bool)
        or not isinstance(num_bins, numbers.Integral)
        or num_bins < 2
    ):
        raise ValueError(
            "`num_bins` must be an integer >= 2. "
            f"Received: num_bins={num_bins!r}"
        )
    for name, value in (("low", low), ("high", high)):
        if (
            isinstance(value, bool)
            or not isinstance(value, numbers.Real)
            or not math.isfinite(value)
        ):
            raise ValueError(
                f"`{name}` must be a finite number. Received: {name}={value!r}"
            )
    if not low < high:
        raise ValueError(
            "`low` must be smaller than `high`. "
            f"Received: low={low!r}, high={high!r}"
        )
    return int(num_bins), float(low), float(high)


class DiscretizedLogisticMixture(Distribution):
    """Independent mixtures of discretized logistics, as in PixelCNN++.

    The distribution of Salimans et al. (2017) for 8-bit data rescaled to
    `[low, high]`: each value lies on a grid of `num_bins` points, `low`,
    `low + w`, ..., `high` (bin width `w = (high - low) / (num_bins - 1)`),
    and its probability is a mixture of `M` logistics integrated over the
    value's bin, `[x - w/2, x + w/2]`; the first bin takes the whole lower
    tail (`(-inf, low + w/2]`), the last the whole upper tail. Equivalently
    a draw is a logistic mixture's draw, clipped to `[low, high]` and
    rounded to the grid.

    Every value is independent (no coupling between an image's colour
    channels, unlike PixelCNN++'s autoregressive channel means): a VAE's
    decoder models the dependencies through `z`.

    `log_prob(x)` computes each bin's mass in log space,
    `log(sigmoid(a) - sigmoid(b)) = log sigmoid(a) + log sigmoid(-b) +
    log(1 - exp(b - a))` with softplus and `expm1`, so it never underflows
    for finite parameters: PixelCNN++'s fallback to the log-density at the
    bin's mid-point (for bins whose mass underflows in `sigmoid(a) -
    sigmoid(b)`) is not needed, and the value is exact everywhere. `x` is
    rounded to the nearest grid point; a value more than half a bin
    outside `[low, high]` has log-probability `-inf`. Log-scales are
    clipped to `[LOG_SCALE_MIN, LOG_SCALE_MAX]` (`[-7, 20]`; PixelCNN++'s
    lower bound). Draws are not reparameterizable (the values are
    discrete).

    Args:
        logits: tensor `batch_shape + event_shape + (M,)`. Unnormalized log
            weights of the `M` components of each value's mixture.
        means: tensor, the same shape. The logistics' locations, in the
            data's units.
        log_scales: tensor, the same shape. The logistics' log-scales.
        event_ndims: int >= 0. Trailing value axes that form one event,
            the mixture axis not counted.
        num_bins: int >= 2. Grid points in `[low, high]`, default 256.
        low: float. The smallest value, default 0.0.
        high: float > `low`. The largest value, default 1.0.

    Example:

    ```python
    import numpy as np
    from keras_vae import distributions

    shape = (2, 3, 5)  # 2 examples of 3 values, 5 components each
    p = distributions.DiscretizedLogisticMixture(
        np.zeros(shape), np.full(shape, 0.5), np.full(shape, -3.0),
        event_ndims=1,
    )
    x = p.sample(seed=0)  # (2, 3): multiples of 1 / 255 in [0, 1]
    p.log_prob(x).shape  # (2,)
    ```
    """

    def __init__(
        self,
        logits,
        means,
        log_scales,
        event_ndims,
        num_bins=256,
        low=0.0,
        high=1.0,
    ):
        super().__init__(event_ndims)
        self.num_bins, self.low, self.high = _check_grid(num_bins, low, high)
        logits, means, log_scales = (
            float32(logits),
            float32(means),
            ops.clip(float32(log_scales), LOG_SCALE_MIN, LOG_SCALE_MAX),
        )
        if len(logits.shape) < 1:
            raise ValueError(
                "`logits` must have a trailing mixture axis. Received: "
                f"logits of shape {tuple(logits.shape)}"
            )
        if not (
            tuple(logits.shape) == tuple(means.shape) == tuple(log_scales.shape)
        ):
            zeros = (
                ops.zeros_like(logits)
                + ops.zeros_like(means)
                + ops.zeros_like(log_scales)
            )
            logits, means, log_scales = (
                logits + zeros,
                means + zeros,
                log_scales + zeros,
            )
        self.logits = logits
        self.means = means
        self.log_scales = log_scales

    @property
    def num_components(self):
        """`M`, the size of the mixture axis."""
        return self.logits.shape[-1]

    @property
    def bin_width(self):
        """The distance between grid points, `(high - low) / (num_bins -
        1)`."""
        return (self.high - self.low) / (self.num_bins - 1)

    @property
    def batch_event_shape(self):
        return tuple(self.logits.shape)[:-1]

    def _to_grid(self, x):
        """`x` rounded to the grid, clipped to `[low, high]`, and whether it
        was within half a bin of `[low, high]`."""
        index = ops.round((float32(x) - self.low) / self.bin_width)
        inside = ops.logical_and(
            ops.greater_equal(index, 0.0),
            ops.less_equal(index, self.num_bins - 1.0),
        )
        index = ops.clip(index, 0.0, self.num_bins - 1.0)
        return index, inside

    def _log_prob_elements(self, x):
        index, inside = self._to_grid(x)
        center = ops.expand_dims(self.low + index * self.bin_width, -1)
        half = 0.5 * self.bin_width
        inverse_scale = ops.exp(-self.log_scales)
        centered = center - self.means
        plus = inverse_scale * (centered + half)
        minus = inverse_scale * (centered - half)
        log_cdf_plus = -ops.softplus(-plus)  # log P(X <= x + w/2)
        log_sf_minus = -ops.softplus(minus)  # log P(X > x - w/2)
        # log(1 - exp(minus - plus)), minus - plus = -w / scale.
        log_width = ops.log(-ops.expm1(-self.bin_width * inverse_scale))
        log_mass = ops.where(
            ops.expand_dims(ops.equal(index, 0.0), -1),
            log_cdf_plus,
            ops.where(
                ops.expand_dims(ops.equal(index, self.num_bins - 1.0), -1),
                log_sf_minus,
                log_cdf_plus + log_sf_minus + log_width,
            ),
        )
        log_weights = ops.log_softmax(self.logits, axis=-1)
        log_prob = ops.logsumexp(log_weights + log_mass, axis=-1)
        return ops.where(inside, log_prob, float("-inf"))

    def _sample(self, seed, sample_shape):
        index = gumbel_argmax(self.logits, seed, sample_shape)
        if isinstance(seed, int) and not isinstance(seed, bool):
            seed = seed + 1  # Not the choice's noise.
        mask = ops.one_hot(index, self.num_components, dtype="float32")
        means = ops.sum(mask * self.means, axis=-1)
        scales = ops.exp(ops.sum(mask * self.log_scales, axis=-1))
        uniform = keras.random.uniform(
            ops.shape(means), minval=1e-7, maxval=1.0, seed=seed
        )
        logistic = ops.log(uniform) - ops.log1p(-uniform)
        x = ops.clip(means + scales * logistic, self.low, self.high)
        index = ops.round((x - self.low) / self.bin_width)
        return ops.clip(self.low + index * self.bin_width, self.low, self.high)

    def mean(self):
        """The mean of the continuous mixture clipped to `[low, high]`.

        A draw is `round(clip(y))`, `y` from the mixture of logistics, and
        this is `E[clip(y)]` in closed form: per component `low + s *
        (softplus((mu - low) / s) - softplus((mu - high) / s))`, weighted
        by the mixture. It is within half a bin of the exact mean of the
        discretized values (the rounding's only effect), and equals the
        mixture's mean `sum_k w_k mu_k` when the components lie well
        inside `[low, high]`.

        Returns:
            A float32 tensor shaped `batch_shape + event_shape`, in
            `[low, high]`.
        """
        scales = ops.exp(self.log_scales)
        clipped_means = self.low + scales * (
            ops.softplus((self.means - self.low) / scales)
            - ops.softplus((self.means - self.high) / scales)
        )
        weights = ops.softmax(self.logits, axis=-1)
        mean = ops.sum(weights * clipped_means, axis=-1)
        return ops.clip(mean, self.low, self.high)
