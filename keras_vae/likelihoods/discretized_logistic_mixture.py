"""The discretized logistic mixture likelihood (PixelCNN++), for 8-bit data."""

import keras
import numpy as np

from keras_vae import _validation
from keras_vae import distributions
from keras_vae.callbacks.nan_guard import _as_real
from keras_vae.distributions.discretized_logistic_mixture import _check_grid
from keras_vae.likelihoods.likelihood import Likelihood
from keras_vae.likelihoods.likelihood import register_alias

_GRID_TOLERANCE = 0.1
"""How far (in bins) a value may lie from the grid: float16 rounding of
8-bit values stays within it, continuous data does not."""

_CHUNK = 1 << 20
"""Values checked at a time (a float64 copy of each chunk)."""


@keras.saving.register_keras_serializable(package="keras_vae")
class DiscretizedLogisticMixture(Likelihood):
    """Mixtures of discretized logistics per value, as in PixelCNN++.

    For 8-bit data rescaled to `[low, high]` (`x / 255.0` for the default
    `[0, 1]`): each value's distribution is a mixture of `num_mixtures`
    logistics integrated over the value's bin of a grid of `num_bins`
    points (see `keras_vae.distributions.DiscretizedLogisticMixture`). It
    knows that intensity 7 is close to 8, so it fits 8-bit images with 3
    numbers per component where `Categorical` needs 256 per value. Values
    are independent given `z` (no coupling of colour channels).

    The decoder outputs `3 * num_mixtures` numbers per value
    (`params_shape(data_shape) == data_shape + (3 * num_mixtures,)`):
    `[..., :M]` the mixture logits, `[..., M:2M]` the logistics' means (in
    the data's units) and `[..., 2M:]` their log-scales. The mean of
    `p(x|z)` (what `VAE.reconstruct` draws) is the clipped mixture's mean,
    in `[low, high]`.

    Data must lie on the grid: `check_data` refuses values outside
    `[low, high]` and values more than a tenth of a bin away from a grid
    point (continuous data, or a grid other than the data's), since
    `log_prob` scores each value's whole bin.

    Args:
        num_mixtures: int > 0. Logistics per value, default 5 (PixelCNN++
            uses 10 with channel coupling).
        num_bins: int >= 2. Grid points, default 256 (8-bit data).
        low: float. The smallest value, default 0.0.
        high: float > `low`. The largest value, default 1.0.
        **kwargs: base layer arguments (`name`, `dtype`).

    Example:

    ```python
    import numpy as np
    from keras_vae import likelihoods

    likelihood = likelihoods.DiscretizedLogisticMixture(num_mixtures=5)
    likelihood.params_shape((28, 28, 1))  # (28, 28, 1, 15)
    p = likelihood(np.zeros((2, 28, 28, 1, 15), "float32"))
    x = np.round(np.random.rand(2, 28, 28, 1) * 255) / 255
    likelihood.check_data("x", x)  # on the grid: passes
    p.log_prob(x).shape  # (2,)
    ```
    """

    param_axes = 1

    def __init__(
        self, num_mixtures=5, num_bins=256, low=0.0, high=1.0, **kwargs
    ):
        super().__init__(**kwargs)
        self.num_mixtures = _validation.positive_int(
            "num_mixtures", num_mixtures
        )
        self.num_bins, self.low, self.high = _check_grid(num_bins, low, high)
        self.support = (self.low, self.high)

    def describe(self):
        return "discretized_logistic_mixture"

    def _extra_params_shape(self, data_shape):
        return (3 * self.num_mixtures,)

    def distribution(self, params, event_ndims):
        m = self.num_mixtures
        return distributions.DiscretizedLogisticMixture(
            params[..., :m],
            params[..., m : 2 * m],
            params[..., 2 * m :],
            event_ndims=event_ndims,
            num_bins=self.num_bins,
            low=self.low,
            high=self.high,
        )

    def check_data(self, name, data):
        super().check_data(name, data)
        if not hasattr(data, "shape") or not hasattr(data, "dtype"):
            return
        try:
            array = _as_real(np.asarray(keras.ops.convert_to_numpy(data)))
        except Exception:  # Symbolic: not checked.
            return
        if array.dtype.kind not in "biuf" or not array.size:
            return
        width = (self.high - self.low) / (self.num_bins - 1)
        flat = array.reshape(-1)
        count, first = 0, None
        for start in range(0, flat.size, _CHUNK):  # Bounded temporaries.
            index = flat[start : start + _CHUNK].astype("float64") - self.low
            index /= width
            off = np.abs(index - np.round(index)) > _GRID_TOLERANCE
            count += int(off.sum())
            if first is None and off.any():
                first = start + int(np.argmax(off))
        if count:
            first = tuple(int(i) for i in np.unravel_index(first, array.shape))
            raise ValueError(
                f"The {self.describe()!r} likelihood models values on a "
                f"grid of {self.num_bins} points in [{self.low:g}, "
                f"{self.high:g}] (steps of {width:.6g}), but `{name}` holds "
                f"{count} value(s) off the grid, the first at index "
                f"{first} ({array[first]!r}). Quantize the data, e.g. "
                f"`np.round(x * {self.num_bins - 1}) / "
                f"{self.num_bins - 1}` for [0, 1], or set `num_bins`, "
                "`low` and `high` to the data's grid."
            )

    def get_config(self):
        config = super().get_config()
        config.update(
            num_mixtures=self.num_mixtures,
            num_bins=self.num_bins,
            low=self.low,
            high=self.high,
        )
        return config


register_alias("discretized_logistic_mixture")(DiscretizedLogisticMixture)
