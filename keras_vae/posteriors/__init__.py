"""Approximate posteriors `q(z|x)`: the encoder's head, as Keras layers.

`VAE(posterior=...)` takes one (default: `DiagonalGaussian`). `get` turns
an identifier (a config dict, an object, or a name with a `latent_dim`)
into one.
"""

import keras

from keras_vae.posteriors.diagonal_gaussian import DiagonalGaussian
from keras_vae.posteriors.inverse_autoregressive_flow import (
    InverseAutoregressiveFlow,
)
from keras_vae.posteriors.made import MADE
from keras_vae.posteriors.posterior import Posterior

_ALIASES = {
    "diagonal_gaussian": DiagonalGaussian,
    "iaf": InverseAutoregressiveFlow,
    "inverse_autoregressive_flow": InverseAutoregressiveFlow,
}


def get(identifier, latent_dim=None):
    """A posterior from a config dict, a `Posterior`, or a name.

    Args:
        identifier: a `Posterior` (returned as is), a serialized posterior
            (dict), or a name: `"diagonal_gaussian"`,
            `"inverse_autoregressive_flow"` (or `"iaf"`), made with its
            default arguments and `latent_dim`.
        latent_dim: int > 0 or None. The latent size, needed for a name.

    Returns:
        A `Posterior`.

    Raises:
        ValueError: the identifier is unknown or of another type, or a
            name comes without `latent_dim`.

    Example:

    ```python
    from keras_vae import posteriors

    posterior = posteriors.get("iaf", latent_dim=2)
    same = posteriors.get(posterior)  # The same object.
    ```
    """
    if isinstance(identifier, Posterior):
        return identifier
    if isinstance(identifier, str) and identifier in _ALIASES:
        if latent_dim is None:
            raise ValueError(
                f"The posterior {identifier!r} needs its latent size: pass "
                "`latent_dim`, or make the posterior yourself, e.g. "
                "`posteriors.InverseAutoregressiveFlow(latent_dim=...)`."
            )
        return _ALIASES[identifier](latent_dim)
    if isinstance(identifier, dict):
        result = keras.saving.deserialize_keras_object(
            identifier, safe_mode=True
        )
        if isinstance(result, Posterior):
            return result
    raise ValueError(
        "`posterior` must be one of "
        f"{', '.join(repr(n) for n in sorted(_ALIASES))}, a config dict or "
        "a `keras_vae.posteriors.Posterior`. Received: "
        f"posterior={identifier!r}"
    )


__all__ = [
    "MADE",
    "DiagonalGaussian",
    "InverseAutoregressiveFlow",
    "Posterior",
    "get",
]
