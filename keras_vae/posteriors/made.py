"""MADE: a masked autoencoder for distribution estimation (an autoregressive
network), the building block of inverse autoregressive flows."""

import numbers

import keras
import numpy as np
from keras import ops


def _hidden_degrees(units, num_inputs):
    """Degrees of a hidden layer: 1..num_inputs-1 in turn (0, connected to
    no input, when there is a single input)."""
    if num_inputs == 1:
        return np.zeros(units, "int64")
    return np.arange(units) % (num_inputs - 1) + 1


def hidden_units_of(hidden_units):
    """`hidden_units` as a tuple of positive ints, or a ValueError."""
    try:
        units = tuple(hidden_units)
    except TypeError:
        units = None
    if units is None or not all(
        isinstance(u, numbers.Integral) and not isinstance(u, bool) and u > 0
        for u in units
    ):
        raise ValueError(
            "`hidden_units` must be a tuple of positive integers. "
            f"Received: hidden_units={hidden_units!r}"
        )
    return tuple(int(u) for u in units)


def fresh_initializer(initializer):
    """A new instance of `initializer`: an unseeded Keras initializer draws
    its seed when made and gives the same values at every call, so each
    weight needs its own."""
    return type(initializer).from_config(initializer.get_config())


def made_masks(num_inputs, hidden_units, reverse=False):
    """The connectivity masks of a MADE (Germain et al., 2015).

    Input `i` has degree `i + 1` (`num_inputs - i` with `reverse`); a
    hidden unit of degree `d` sees the inputs of degree `<= d`; output `i`
    (of each of the two outputs) sees the hidden units of degree `<` its
    input's. So output `i` depends only on the inputs before `i` in the
    ordering: the Jacobian of the outputs is strictly triangular.

    Args:
        num_inputs: int > 0. The number of inputs (and of each output).
        hidden_units: tuple of ints. The hidden layers' sizes.
        reverse: bool. Whether the ordering is reversed.

    Returns:
        A list of float32 numpy arrays `(fan_in, fan_out)`, one per layer;
        the last is `(hidden_units[-1], num_inputs)` (to be tiled for
        several outputs per input).

    Example:

    ```python
    from keras_vae.posteriors.made import made_masks

    masks = made_masks(3, hidden_units=(4,))
    [m.shape for m in masks]  # [(3, 4), (4, 3)]
    ```
    """
    degrees = np.arange(1, num_inputs + 1)
    if reverse:
        degrees = degrees[::-1]
    inputs = degrees
    masks = []
    for units in hidden_units:
        hidden = _hidden_degrees(units, num_inputs)
        masks.append((hidden[None, :] >= inputs[:, None]).astype("float32"))
        inputs = hidden
    masks.append((degrees[None, :] > inputs[:, None]).astype("float32"))
    return masks


@keras.saving.register_keras_serializable(package="keras_vae")
class MADE(keras.layers.Layer):
    """An autoregressive network: dense layers with masked kernels.

    Maps `z` (the last axis of `L` values) to two tensors `(m, s)` shaped
    like `z`, where `m[..., i]` and `s[..., i]` depend only on the values
    of `z` before `i` in the ordering (`0, 1, ..., L-1`, or the reverse
    with `reverse=True`): the masks of Germain et al. (2015), with hidden
    degrees assigned in turn (deterministic, so nothing but the weights is
    saved). The masks are numpy constants rebuilt from the shapes, not
    weights.

    An optional context `h` (e.g. from the encoder's features) feeds the
    first layer through an unmasked kernel: it may depend on anything but
    `z`.

    Args:
        hidden_units: tuple of ints > 0. The hidden layers' sizes, default
            `(64, 64)`; `()` makes `(m, s)` linear in `z`.
        reverse: bool. Whether the ordering is reversed, default False.
        activation: the hidden layers' activation, default `"elu"`.
        kernel_initializer: initializer of the kernels, default
            `"glorot_uniform"`.
        **kwargs: base layer arguments (`name`, `dtype`).

    Call arguments:
        z: tensor `(..., L)`.
        context: optional tensor `(..., C)` whose leading axes broadcast
            against `z`'s (e.g. `(batch, C)` for `z` of `(k, batch, L)`).

    Output shape:
        A tuple `(m, s)`, each shaped like `z`.

    Example:

    ```python
    import numpy as np
    from keras_vae.posteriors import MADE

    made = MADE(hidden_units=(8,))
    m, s = made(np.random.rand(4, 3).astype("float32"))  # (4, 3) each
    ```
    """

    def __init__(
        self,
        hidden_units=(64, 64),
        reverse=False,
        activation="elu",
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.hidden_units = hidden_units_of(hidden_units)
        if not isinstance(reverse, bool):
            raise ValueError(
                f"`reverse` must be a bool. Received: reverse={reverse!r}"
            )
        self.reverse = reverse
        self.activation = keras.activations.get(activation)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, z_shape, context_shape=None):
        num_inputs = z_shape[-1]
        if num_inputs is None:
            raise ValueError(
                "`MADE` needs the last axis of its input known. Received: "
                f"z_shape={tuple(z_shape)}"
            )
        self.num_inputs = int(num_inputs)
        self._masks = made_masks(
            self.num_inputs, self.hidden_units, self.reverse
        )
        self._masks[-1] = np.tile(self._masks[-1], (1, 2))
        self.kernels = []
        self.biases = []
        for i, mask in enumerate(self._masks):
            self.kernels.append(
                self.add_weight(
                    name=f"kernel_{i}",
                    shape=mask.shape,
                    initializer=fresh_initializer(self.kernel_initializer),
                )
            )
            self.biases.append(
                self.add_weight(
                    name=f"bias_{i}",
                    shape=(mask.shape[1],),
                    initializer="zeros",
                )
            )
        self.context_kernel = None
        if context_shape is not None:
            self.context_kernel = self.add_weight(
                name="context_kernel",
                shape=(int(context_shape[-1]), self._masks[0].shape[1]),
                initializer=fresh_initializer(self.kernel_initializer),
            )

    def call(self, z, context=None):
        if (context is None) != (self.context_kernel is None):
            word = "without" if self.context_kernel is None else "with"
            raise ValueError(
                f"The MADE {self.name!r} was built {word} a context: call it "
                f"{word} one."
            )
        h = z
        last = len(self._masks) - 1
        for i, mask in enumerate(self._masks):
            kernel = self.kernels[i] * ops.cast(mask, self.compute_dtype)
            h = ops.matmul(h, kernel) + self.biases[i]
            if i == 0 and context is not None:
                h = h + ops.matmul(context, self.context_kernel)
            if i < last:
                h = self.activation(h)
        return h[..., : self.num_inputs], h[..., self.num_inputs :]

    def compute_output_shape(self, z_shape, context_shape=None):
        return tuple(z_shape), tuple(z_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "hidden_units": list(self.hidden_units),
                "reverse": self.reverse,
                "activation": keras.activations.serialize(self.activation),
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
            }
        )
        return config
