"""The base class of keras_vae's distributions."""

import copy
import math

from keras import ops


def float32(x):
    """`x` as a float32 tensor: distribution math is always float32."""
    return ops.cast(x, "float32")


def sum_events(values, event_ndims):
    """Sums the trailing `event_ndims` axes of `values` (none if 0)."""
    if event_ndims == 0:
        return values
    ndim = len(values.shape)
    return ops.sum(values, axis=tuple(range(ndim - event_ndims, ndim)))


def _flatten_events(values, event_ndims):
    """`values` with its trailing `event_ndims` axes (of known sizes)
    flattened into one."""
    shape = tuple(values.shape)
    lead = list(shape[: len(shape) - event_ndims])
    if None in lead:  # A batch size known only when the graph runs.
        dynamic = ops.shape(values)
        lead = [dynamic[i] if d is None else d for i, d in enumerate(lead)]
    size = math.prod(shape[len(shape) - event_ndims :])
    return ops.reshape(values, tuple(lead) + (size,))


def check_event_ndims(event_ndims, value_ndim=None):
    """Validates `event_ndims`: an int >= 0 (and <= the values' rank)."""
    if (
        isinstance(event_ndims, bool)
        or not isinstance(event_ndims, int)
        or event_ndims < 0
        or (value_ndim is not None and event_ndims > value_ndim)
    ):
        bound = "" if value_ndim is None else f" and <= {value_ndim}"
        raise ValueError(
            f"`event_ndims` must be an int >= 0{bound} (the trailing axes "
            f"that form one event). Received: event_ndims={event_ndims!r}"
        )
    return event_ndims


def _is_size(d):
    """An int > 0, or a scalar integer tensor: a size known only when the
    graph runs (`ops.shape(x)[0]` in a TensorFlow graph of unknown batch
    size)."""
    if isinstance(d, bool):
        return False
    if isinstance(d, int):
        return d > 0
    dtype = str(getattr(d, "dtype", ""))
    return "int" in dtype and len(getattr(d, "shape", (0,))) == 0


def sample_shape_of(sample_shape):
    """`sample_shape` as a tuple of sizes (an int `n` is `(n,)`)."""
    if _is_size(sample_shape):
        sample_shape = (sample_shape,)
    try:
        shape = tuple(sample_shape)
    except TypeError:
        shape = None
    if shape is None or not all(_is_size(d) for d in shape):
        raise ValueError(
            "`sample_shape` must be an int > 0 or a tuple of them. "
            f"Received: sample_shape={sample_shape!r}"
        )
    return shape


class Distribution:
    """A probability distribution over tensors, backend-neutral.

    Distributions are plain Python objects (not layers): a layer holds the
    weights and builds a distribution from its outputs in `call`. All math
    uses `keras.ops` and `keras.random`, in float32 whatever the inputs'
    dtype, so it runs on TensorFlow, JAX and PyTorch, inside compiled
    steps too, and under the `"mixed_bfloat16"` policy.

    Shapes follow TensorFlow Probability: a value has shape
    `sample_shape + batch_shape + event_shape`. The trailing
    `event_ndims` axes of a value form one event: `log_prob` sums over
    them and returns one number per element of the batch.

    Subclasses implement `_sample(seed, sample_shape)`,
    `_log_prob(x)` (summed over the event axes), `mean()` and
    `batch_event_shape` (the shape of one draw); they may override
    `sample_and_log_prob` when drawing gives the log-density for free (a
    flow), or `_log_prob_elements` when the event sum is the only
    difference from an element-wise log-density.

    Args:
        event_ndims: int >= 0. How many trailing axes of a value form one
            event.

    Example:

    ```python
    import keras
    from keras import ops
    from keras_vae import distributions

    class Exponential(distributions.Distribution):
        # Independent exponentials, from log-rates.

        def __init__(self, log_rate, event_ndims=1):
            super().__init__(event_ndims)
            self.log_rate = ops.cast(log_rate, "float32")

        @property
        def batch_event_shape(self):
            return tuple(self.log_rate.shape)

        def _sample(self, seed, sample_shape):
            shape = sample_shape + tuple(ops.shape(self.log_rate))
            u = keras.random.uniform(shape, minval=1e-7, seed=seed)
            return -ops.log(u) * ops.exp(-self.log_rate)

        def _log_prob_elements(self, x):
            return self.log_rate - ops.exp(self.log_rate) * x

        def mean(self):
            return ops.exp(-self.log_rate)

    p = Exponential(ops.zeros((4, 3)))
    x, log_p = p.sample_and_log_prob(seed=0, sample_shape=2)  # (2, 4, 3)
    ```
    """

    def __init__(self, event_ndims):
        self.event_ndims = check_event_ndims(event_ndims)

    # --- What subclasses provide -------------------------------------

    @property
    def batch_event_shape(self):
        """The shape of one draw, `batch_shape + event_shape` (a tuple)."""
        raise NotImplementedError

    def _sample(self, seed, sample_shape):
        raise NotImplementedError

    def _log_prob_elements(self, x):
        raise NotImplementedError

    _ELEMENTWISE = ()
    """The attributes holding one parameter per element of an event (e.g.
    `("logits",)`), in a distribution whose log-density is a sum over the
    elements. `log_prob` then flattens the event axes into one first:
    XLA on the CPU sums an image's `(28, 28, 1)` axes of a `(k, B, 28, 28,
    1)` tensor several times slower than one axis of 784 (a likelihood's
    log-density took longer than the decoder's matmuls)."""

    def _log_prob(self, x):
        flat = self._flattened()
        if flat is None:
            return sum_events(self._log_prob_elements(x), self.event_ndims)
        x = ops.convert_to_tensor(x)
        if len(x.shape) < self.event_ndims:
            return sum_events(self._log_prob_elements(x), self.event_ndims)
        return ops.sum(
            flat._log_prob_elements(_flatten_events(x, self.event_ndims)), -1
        )

    def _flattened(self):
        """A copy with the event axes of its parameters flattened into one,
        or None (an event of one axis, or parameters that do not all span
        the event axes)."""
        n = self.event_ndims
        if n < 2 or not self._ELEMENTWISE:
            return None
        values = [getattr(self, name) for name in self._ELEMENTWISE]
        if any(
            len(v.shape) < n or None in tuple(v.shape[len(v.shape) - n :])
            for v in values
        ):
            return None
        flat = copy.copy(self)
        for name, value in zip(self._ELEMENTWISE, values):
            setattr(flat, name, _flatten_events(value, n))
        flat.event_ndims = 1
        return flat

    def mean(self):
        """The mean, shaped `batch_shape + event_shape`, float32."""
        raise NotImplementedError(
            f"{type(self).__name__} has no closed-form mean."
        )

    # --- The public API ------------------------------------------------

    @property
    def event_shape(self):
        """The shape of one event, a tuple."""
        shape = tuple(self.batch_event_shape)
        return shape[len(shape) - self.event_ndims :]

    @property
    def batch_shape(self):
        """The shape of the batch of independent events, a tuple."""
        shape = tuple(self.batch_event_shape)
        return shape[: len(shape) - self.event_ndims]

    def sample(self, seed=None, sample_shape=()):
        """Draws values, shaped `sample_shape + batch_shape + event_shape`.

        Args:
            seed: a `keras.random.SeedGenerator` (required inside compiled
                functions), an int, or None (Keras's global generator).
            sample_shape: int or tuple of ints. Independent draws per
                element of the batch, as leading axes; default `()`.

        Returns:
            A float32 tensor (int32 for discrete distributions).
        """
        return self._sample(seed, sample_shape_of(sample_shape))

    def log_prob(self, x):
        """The log-density (or log-probability) of `x`, in nats.

        Args:
            x: a tensor whose trailing axes broadcast against
                `batch_shape + event_shape` (leading sample axes are kept).

        Returns:
            A float32 tensor: `x`'s shape without the event axes.
        """
        return self._log_prob(x)

    def sample_and_log_prob(self, seed=None, sample_shape=()):
        """Draws values and returns them with their log-density.

        The same as `sample` then `log_prob`, but a flow computes both in
        one forward pass, without an inverse.

        Args:
            seed: as for `sample`.
            sample_shape: as for `sample`.

        Returns:
            A tuple `(x, log_prob)`.
        """
        x = self.sample(seed=seed, sample_shape=sample_shape)
        return x, self.log_prob(x)

    def __repr__(self):
        return (
            f"<{type(self).__name__} batch_shape={self.batch_shape} "
            f"event_shape={self.event_shape}>"
        )
