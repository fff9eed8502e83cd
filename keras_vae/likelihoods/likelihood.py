"""The base class of likelihoods, and `get`: identifier to object."""

import math

import keras
import numpy as np

from keras_vae.callbacks.nan_guard import _as_real
from keras_vae.callbacks.nan_guard import check_data

_ALIASES = {}
"""String identifiers: name -> a function returning a new likelihood."""


def register_alias(name):
    """Registers a string identifier for `get` (a decorator of a factory)."""

    def decorator(factory):
        _ALIASES[name] = factory
        return factory

    return decorator


class Likelihood(keras.layers.Layer):
    """The decoder's output distribution `p(x|z)`: a Keras layer.

    A likelihood turns the decoder's output (its *parameters*) into a
    `keras_vae.distributions.Distribution` over the data, holds any weight
    it needs (a learned variance), tells what shape the decoder must
    output for a given data shape (`params_shape`) and checks that data
    lie in its support (`check_data`). `VAE` goes through these methods
    only: no likelihood is special-cased anywhere else.

    Subclasses set `support` (a closed interval `(low, high)`, or None for
    any finite value), `integer` (whether data must be whole numbers),
    `param_axes` (trailing parameter axes beyond the data's shape: 0 when
    the decoder outputs one number per value, 1 when it outputs several),
    and implement `distribution(params, event_ndims)`.

    Call arguments:
        params: the decoder's output, `(batch, ...) + params_shape`.
        event_ndims: int or None. Trailing data axes of one example; None
            means every axis of the data but the first (the batch).

    Returns (from `call`):
        A `Distribution` whose `log_prob(x)` gives one log-likelihood per
        example, in nats.

    Example:

    ```python
    import keras
    from keras import ops
    from keras_vae import distributions, likelihoods

    @keras.saving.register_keras_serializable(package="my_project")
    class UnitGaussian(likelihoods.Likelihood):
        # The decoder outputs means; a fixed unit variance.

        def distribution(self, params, event_ndims):
            return distributions.Normal(
                params, ops.ones_like(params), event_ndims=event_ndims
            )

    likelihood = likelihoods.get(UnitGaussian())
    p = likelihood(ops.zeros((2, 5)))
    p.log_prob(ops.zeros((2, 5))).shape  # (2,): one number per example
    ```
    """

    support = None
    integer = False
    param_axes = 0
    data_shape = None

    def __init__(self, **kwargs):
        # No cast of the parameters to a mixed-precision compute dtype in
        # `__call__`: bfloat16 would round a mean to about 1/256 of its
        # size (a whole 8-bit bin), and distributions compute in float32.
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)

    def setup(self, data_shape):
        """Fits the likelihood to data of `data_shape` (one example's, no
        batch axis) and creates its weights, if any. `VAE` calls it; a
        likelihood used on its own is built from its first `params`.

        Args:
            data_shape: tuple. The shape of one example.
        """
        self.data_shape = tuple(data_shape)
        if not self.built:
            self.build((None,) + self.params_shape(self.data_shape))

    def params_shape(self, data_shape):
        """The shape the decoder must output for one example of data.

        Args:
            data_shape: tuple. The shape of one example (no batch axis).

        Returns:
            A tuple: `data_shape`, plus the trailing parameter axes.
        """
        return tuple(data_shape) + self._extra_params_shape(data_shape)

    def _extra_params_shape(self, data_shape):
        return ()

    def check_params(self, params_shape, data_shape):
        """Raises a ValueError if the decoder's output cannot parameterize
        this likelihood for data of `data_shape` (both without the batch).
        """
        expected = self.params_shape(data_shape)
        received = tuple(params_shape)
        if len(received) != len(expected) or any(
            r is not None and r != e for r, e in zip(received, expected)
        ):
            raise ValueError(
                f"The decoder's output does not fit the {self.describe()} "
                f"likelihood: for data of shape {tuple(data_shape)} (per "
                f"example) it must output {expected} per example, but it "
                f"outputs {received}. The decoder must map "
                "(batch, latent_dim) to (batch,) + "
                f"{expected}."
            )

    def check_data(self, name, data):
        """Raises a ValueError if array `data` is not finite, leaves the
        support, or (for discrete likelihoods) is not whole numbers; other
        values (data sets) pass.

        Args:
            name: str. The argument's name, for the message.
            data: the argument's value.
        """
        check_data(name, data, likelihood=self.describe(), support=self.support)
        if not self.integer or not hasattr(data, "dtype"):
            return
        try:
            array = _as_real(np.asarray(keras.ops.convert_to_numpy(data)))
        except Exception:  # Symbolic: not checked.
            return
        if array.dtype.kind == "f" and array.size:
            fractional = array != np.round(array)
            if fractional.any():
                first = tuple(int(i) for i in np.argwhere(fractional)[0])
                raise ValueError(
                    f"The {self.describe()!r} likelihood models whole "
                    f"numbers, but `{name}` holds {int(fractional.sum())} "
                    f"non-integer value(s), the first at index {first} "
                    f"({array[first]!r})."
                )

    def describe(self):
        """The likelihood's name in messages, e.g. `"bernoulli"`."""
        return type(self).__name__.lower()

    def distribution(self, params, event_ndims):
        """The `Distribution` of the data given the decoder's `params`."""
        raise NotImplementedError

    def call(self, params, event_ndims=None):
        if event_ndims is None:
            event_ndims = len(params.shape) - 1 - self.param_axes
        return self.distribution(params, event_ndims)

    def compute_output_spec(self, params, event_ndims=None):
        raise NotImplementedError(
            "A likelihood returns a distribution, not a tensor: use it "
            "inside a model's `call`, or `keras_vae.losses` in a "
            "Functional model."
        )

    def mean(self, params):
        """The mean of `p(x|z)` for `params`: the image a decoder draws.

        Args:
            params: the decoder's output.

        Returns:
            A float32 tensor shaped like the data.
        """
        return self(params).mean()


def get(identifier):
    """A likelihood from an identifier: a string, a config dict or an object.

    As `keras.initializers.get` does: a `Likelihood` is returned as is; a
    string names a built-in one (`"bernoulli"`, `"gaussian"` (unit
    variance), `"gaussian_learned"` (one learned variance per value),
    `"gaussian_predicted"`, `"categorical"`, `"poisson"`,
    `"discretized_logistic_mixture"`, and any registered since: the error
    for an unknown string lists them); a dict is a serialized likelihood
    (`keras.saving.serialize_keras_object`), deserialized in safe mode.

    Args:
        identifier: str, dict or `Likelihood`.

    Returns:
        A `Likelihood` (a new one for a string or a dict).

    Raises:
        ValueError: the identifier is unknown or of another type.

    Example:

    ```python
    from keras_vae import likelihoods

    likelihoods.get("bernoulli")  # a likelihoods.Bernoulli()
    likelihoods.get({"class_name": "Gaussian", "config": {"variance": 0.1}})
    ```
    """
    if isinstance(identifier, Likelihood):
        return identifier
    if isinstance(identifier, str):
        factory = _ALIASES.get(identifier)
        if factory is None:
            raise ValueError(
                "Unknown likelihood: `likelihood` must be one of "
                f"{', '.join(repr(n) for n in sorted(_ALIASES))}, a config "
                "dict or a `keras_vae.likelihoods.Likelihood`. Received: "
                f"likelihood={identifier!r}"
            )
        return factory()
    if isinstance(identifier, dict):
        from keras_vae import likelihoods

        objects = {
            name: value
            for name, value in vars(likelihoods).items()
            if isinstance(value, type) and issubclass(value, Likelihood)
        }
        try:
            result = keras.saving.deserialize_keras_object(
                identifier, custom_objects=objects, safe_mode=True
            )
        except (TypeError, ValueError) as error:
            raise ValueError(
                "Could not build a likelihood from the config dict "
                f"`likelihood`={identifier!r}: {error}"
            ) from error
        if not isinstance(result, Likelihood):
            raise ValueError(
                "The config dict `likelihood` does not describe a "
                f"likelihood. Received: likelihood={identifier!r}"
            )
        return result
    raise ValueError(
        "`likelihood` must be a string, a config dict or a "
        "`keras_vae.likelihoods.Likelihood`. Received: "
        f"likelihood={identifier!r} of type {type(identifier).__name__}"
    )


def serialize(likelihood):
    """The config of a likelihood, for `get` to rebuild it.

    The alias string when the likelihood is the default one of an alias
    (`"bernoulli"`, `"gaussian_learned"`: configs stay as earlier versions
    wrote them), else its serialized config dict.

    Args:
        likelihood: a `Likelihood`.

    Returns:
        A str or a dict.

    Example:

    ```python
    from keras_vae import likelihoods

    likelihoods.serialize(likelihoods.Bernoulli())  # "bernoulli"
    config = likelihoods.serialize(likelihoods.Gaussian(variance=0.1))
    same = likelihoods.get(config)  # a Gaussian of variance 0.1
    ```
    """
    for name, factory in _ALIASES.items():
        default = factory()
        if type(default) is type(likelihood) and (
            default.get_config() | {"name": None}
            == likelihood.get_config() | {"name": None}
        ):
            return name
    return keras.saving.serialize_keras_object(likelihood)


_LOG_2PI = math.log(2.0 * math.pi)
