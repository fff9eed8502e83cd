"""Independent Poisson distributions over counts, from log-rates."""

import math

import keras
import numpy as np
from keras import ops

from keras_vae.distributions.distribution import Distribution
from keras_vae.distributions.distribution import float32

LOG_RATE_MIN = -30.0
"""Log-rates are clipped from below to this (a rate of 9e-14)."""

LOG_RATE_MAX = 20.0
"""Log-rates are clipped from above to this (a rate of 4.9e8), so that
rates, draws and log-probabilities stay finite in float32 and int32."""

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)

# Sampling: inversion below this rate, rejection (PTRS) from it on.
_INVERSION_MAX_RATE = 10.0
# Counts 0..39 tabulated for inversion: P(X >= 40) < 6e-13 for rates < 10.
_INVERSION_COUNTS = 40
_LOG_FACTORIALS = np.array(
    [math.lgamma(k + 1.0) for k in range(_INVERSION_COUNTS)], "float32"
)
# Proposals per draw of PTRS: each is accepted with probability >= 0.75
# (rate 10; 0.88 for large rates), so all 20 fail with probability < 1e-12.
_PTRS_PROPOSALS = 20


def _log_gamma(z):
    """`log Gamma(z)` for float32 `z > 0`: Stirling's series at `z + 8`
    (error < 3e-10) for `z < 8`, shifted back by `sum_i log(z + i)`; at `z`
    itself from 8 on. `keras.ops` has no `lgamma` on every backend."""
    shifted = ops.maximum(z, 8.0)
    small = ops.minimum(z, 8.0)  # Finite shift terms whichever is chosen.
    shift = ops.zeros_like(z)
    for i in range(8):
        shift = shift + ops.log(small + i)
    w = ops.where(z < 8.0, small + 8.0, shifted)
    inverse = 1.0 / w
    inverse_sq = inverse * inverse
    series = inverse * (
        1.0 / 12.0
        - inverse_sq * (1.0 / 360.0 - inverse_sq * (1.0 / 1260.0))
    )
    stirling = (w - 0.5) * ops.log(w) - w + _HALF_LOG_2PI + series
    return ops.where(z < 8.0, stirling - shift, stirling)


def _stirling_error(x):
    """`log Gamma(x + 1) - ((x + 0.5) log x - x + log(2 pi) / 2)`, for
    `x > 0`: its series from 10 on, directly below (small values, so
    float32 keeps their absolute error near 1e-6)."""
    large = ops.maximum(x, 10.0)
    inverse = 1.0 / large
    inverse_sq = inverse * inverse
    series = inverse * (
        1.0 / 12.0
        - inverse_sq
        * (1.0 / 360.0 - inverse_sq * (1.0 / 1260.0 - inverse_sq / 1680.0))
    )
    small = ops.minimum(x, 10.0)
    direct = (
        _log_gamma(small + 1.0)
        - (small + 0.5) * ops.log(small)
        + small
        - _HALF_LOG_2PI
    )
    return ops.where(x >= 10.0, series, direct)


def _deviance(x, log_rate, rate):
    """`x log(x / rate) + rate - x` (half the Poisson deviance) for `x > 0`,
    without float32's cancellations: `x log1p(u) - (x - rate)`, `u = x /
    rate - 1`, for `u > -1/2` (the difference of logs loses digits there),
    and near `x = rate` `rate * phi(u)`, `phi(u) = (1 + u) log(1 + u) - u`
    from its series (to `u^9`) for `|u| < 0.1`."""
    difference = x - rate
    u = difference / rate
    near_u = ops.clip(u, -0.1, 0.1)
    phi = ops.zeros_like(u)
    for n in range(9, 1, -1):  # sum_n (-1)^n u^n / (n (n - 1)), Horner.
        phi = (phi + (-1.0) ** n / (n * (n - 1))) * near_u
    near = rate * phi * near_u
    log_ratio = ops.where(
        ops.greater(u, -0.5),
        ops.log1p(ops.maximum(u, -0.5)),
        ops.log(x) - log_rate,
    )
    far = x * log_ratio - difference
    return ops.where(ops.less(ops.abs(u), 0.1), near, far)


def _log_pmf(x, log_rate, rate):
    """`x log(rate) - rate - log(x!)`, stable in float32 (Loader's form:
    `-stirling_error(x) - log(2 pi x) / 2 - deviance(x, rate)`), for
    `x >= 0` (the continuous extension between whole numbers)."""
    positive = ops.greater(x, 0.0)
    safe = ops.where(positive, x, 1.0)  # No log(0) in the other branch.
    log_p = (
        -_stirling_error(safe)
        - 0.5 * ops.log(safe)
        - _HALF_LOG_2PI
        - _deviance(safe, log_rate, rate)
    )
    return ops.where(positive, log_p, -rate)


class Poisson(Distribution):
    """Independent Poisson distributions over counts, from log-rates.

    `log_prob(x) = x log(rate) - rate - log(x!)`, computed in Loader's
    form (a Stirling-series remainder plus a deviance term evaluated
    without cancellation) so that it stays accurate in float32 for large
    counts, where the direct formula loses whole nats; `keras.ops` has no
    `lgamma` on every backend, so the module brings its own. For whole `x
    >= 0` it is the exact log-probability; other `x >= 0` get the same
    formula's continuous extension (not a normalized density); `x < 0`
    gets `-inf`. Log-rates are clipped to `[LOG_RATE_MIN, LOG_RATE_MAX]`
    (`[-30, 20]`).

    Draws are exact up to float32 resolution (about 1e-7 in
    probability, and counts below 2**24): inversion of the cumulative
    distribution over the counts 0..39 for rates below 10 (tail mass
    beyond < 6e-13), and for larger rates Hörmann's transformed rejection
    (PTRS, 1993; the method of NumPy, TensorFlow and JAX) with a fixed
    budget of 20 proposals per draw, the first accepted kept; with
    probability below 1e-12 all are rejected and the draw is the mode
    `floor(rate)`. Draws are int32 (`sample(seed, sample_shape=5)` of the
    example below: shape `(5, 2, 3)`) and not reparameterizable.

    Args:
        log_rate: tensor. The log of each count's rate (its mean).
        event_ndims: int >= 0. Trailing axes that form one event.

    Example:

    ```python
    import numpy as np
    from keras_vae import distributions

    p = distributions.Poisson(np.log(np.full((2, 3), 4.0)), event_ndims=1)
    p.log_prob(np.full((2, 3), 4))  # 3 * log(4**4 e^-4 / 4!) each
    p.mean()  # 4.0 everywhere
    ```
    """

    def __init__(self, log_rate, event_ndims):
        super().__init__(event_ndims)
        self.log_rate = ops.clip(float32(log_rate), LOG_RATE_MIN, LOG_RATE_MAX)

    @property
    def batch_event_shape(self):
        return tuple(self.log_rate.shape)

    def rate(self):
        """The rates, float32."""
        return ops.exp(self.log_rate)

    def mean(self):
        return self.rate()

    def variance(self):
        """The variances (equal to the rates), float32."""
        return self.rate()

    _ELEMENTWISE = ("log_rate",)

    def mode(self):
        """The most probable count, `floor(rate)`, int32."""
        return ops.cast(ops.floor(self.rate()), "int32")

    def _log_prob_elements(self, x):
        x = float32(x)
        log_p = _log_pmf(ops.maximum(x, 0.0), self.log_rate, self.rate())
        return ops.where(ops.less(x, 0.0), float("-inf"), log_p)

    def _sample(self, seed, sample_shape):
        shape = sample_shape + tuple(ops.shape(self.log_rate))
        uniform = keras.random.uniform(
            shape + (1 + 2 * _PTRS_PROPOSALS,), seed=seed
        )
        small = _sample_by_inversion(self.log_rate, uniform[..., 0])
        large = _sample_by_rejection(self.log_rate, uniform[..., 1:])
        counts = ops.where(self.rate() < _INVERSION_MAX_RATE, small, large)
        return ops.cast(counts, "int32")


def _sample_by_inversion(log_rate, uniform):
    """Counts `#{k : F(k) <= u}` for rates below 10 (larger ones, clipped,
    give values that are discarded), float32."""
    log_rate = ops.expand_dims(
        ops.minimum(log_rate, math.log(_INVERSION_MAX_RATE)), -1
    )
    counts = ops.arange(_INVERSION_COUNTS, dtype="float32")
    log_pmf = counts * log_rate - ops.exp(log_rate) - _LOG_FACTORIALS
    cdf = ops.cumsum(ops.exp(log_pmf), axis=-1)
    cdf = cdf / cdf[..., -1:]  # The tail beyond 39 counts is dropped.
    below = ops.less_equal(cdf[..., :-1], ops.expand_dims(uniform, -1))
    return ops.sum(ops.cast(below, "float32"), axis=-1)


def _sample_by_rejection(log_rate, uniform):
    """PTRS (Hörmann, 1993) for rates of 10 and more (smaller ones are
    raised to 10, and their values discarded), float32. `uniform` holds 2
    uniforms per proposal on its last axis."""
    log_rate = ops.maximum(log_rate, math.log(_INVERSION_MAX_RATE))
    rate = ops.exp(log_rate)
    n = _PTRS_PROPOSALS
    log_rate, rate = ops.expand_dims(log_rate, -1), ops.expand_dims(rate, -1)
    u, v = uniform[..., :n] - 0.5, uniform[..., n:]
    b = 0.931 + 2.53 * ops.sqrt(rate)
    a = -0.059 + 0.02483 * b
    inverse_alpha = 1.1239 + 1.1328 / (b - 3.4)
    v_r = 0.9277 - 3.6224 / (b - 2.0)
    us = ops.maximum(0.5 - ops.abs(u), 1e-6)  # us = 0: u = -0.5 exactly.
    k = ops.floor((2.0 * a / us + b) * u + rate + 0.43)
    quick = ops.logical_and(ops.greater_equal(us, 0.07), ops.less_equal(v, v_r))
    rejected = ops.logical_or(
        ops.less(k, 0.0),
        ops.logical_and(ops.less(us, 0.013), ops.greater(v, us)),
    )
    safe_k = ops.maximum(k, 0.0)
    log_hat = ops.log(v) + ops.log(inverse_alpha) - ops.log(a / (us * us) + b)
    squeezed = ops.less_equal(log_hat, _log_pmf(safe_k, log_rate, rate))
    accepted = ops.logical_or(
        quick, ops.logical_and(ops.logical_not(rejected), squeezed)
    )
    # The first accepted proposal: the unique maximum of these scores.
    scores = ops.cast(accepted, "float32") * ops.arange(n, 0, -1, "float32")
    first = ops.one_hot(ops.argmax(scores, axis=-1), n, dtype="float32")
    chosen = ops.sum(first * ops.where(accepted, safe_k, 0.0), axis=-1)
    any_accepted = ops.greater(ops.max(scores, axis=-1), 0.0)
    return ops.where(any_accepted, chosen, ops.floor(rate[..., 0]))
