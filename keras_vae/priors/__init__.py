"""Priors over the latent space, as Keras layers.

`VAE(prior=...)` takes one (default: `StandardNormal`). `get` turns an
identifier (`"standard_normal"`, a config dict, an object) into one.
"""

import keras

from keras_vae.priors.prior import Prior
from keras_vae.priors.standard_normal import StandardNormal

_ALIASES = {"standard_normal": StandardNormal}


def get(identifier):
    """A prior from a string, a config dict, or a `Prior` (returned as is).

    Args:
        identifier: `"standard_normal"`, a serialized prior (dict) or a
            `Prior`; None means `StandardNormal()`.

    Returns:
        A `Prior`.

    Raises:
        ValueError: the identifier is unknown or of another type.
    """
    if identifier is None:
        return StandardNormal()
    if isinstance(identifier, Prior):
        return identifier
    if isinstance(identifier, str) and identifier in _ALIASES:
        return _ALIASES[identifier]()
    if isinstance(identifier, dict):
        result = keras.saving.deserialize_keras_object(
            identifier, safe_mode=True
        )
        if isinstance(result, Prior):
            return result
    raise ValueError(
        "`prior` must be one of "
        f"{', '.join(repr(n) for n in sorted(_ALIASES))}, a config dict or "
        "a `keras_vae.priors.Prior`. Received: "
        f"prior={identifier!r}"
    )


__all__ = ["Prior", "StandardNormal", "get"]
