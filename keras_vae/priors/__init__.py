"""Priors over the latent space, as Keras layers.

`VAE(prior=...)` takes one (default: `StandardNormal`). `get` turns an
identifier (`"standard_normal"`, `"mixture_of_gaussians"`,
`"vamp_prior"`, a config dict, an object) into one.
"""

import keras

from keras_vae.priors.mixture_of_gaussians import MixtureOfGaussians
from keras_vae.priors.prior import Prior
from keras_vae.priors.standard_normal import StandardNormal
from keras_vae.priors.vamp_prior import VampPrior

_ALIASES = {
    "mixture_of_gaussians": MixtureOfGaussians,
    "standard_normal": StandardNormal,
    "vamp_prior": VampPrior,
}


def get(identifier):
    """A prior from a string, a config dict, or a `Prior` (returned as is).

    A string makes the prior with its default arguments (the latent size
    and data shape are the model's).

    Args:
        identifier: `"standard_normal"`, `"mixture_of_gaussians"`,
            `"vamp_prior"`, a serialized prior (dict) or a `Prior`; None
            means `StandardNormal()`.

    Returns:
        A `Prior`.

    Raises:
        ValueError: the identifier is unknown or of another type.

    Example:

    ```python
    import keras
    from keras_vae import priors

    prior = priors.get("mixture_of_gaussians")  # 10 components
    config = keras.saving.serialize_keras_object(prior)
    same = priors.get(config)  # A new MixtureOfGaussians.
    ```
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


__all__ = [
    "MixtureOfGaussians",
    "Prior",
    "StandardNormal",
    "VampPrior",
    "get",
]
