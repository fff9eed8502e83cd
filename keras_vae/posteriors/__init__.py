"""Approximate posteriors `q(z|x)`: the encoder's head, as Keras layers.

`VAE(posterior=...)` takes one (default: `DiagonalGaussian`).
"""

from keras_vae.posteriors.diagonal_gaussian import DiagonalGaussian
from keras_vae.posteriors.posterior import Posterior


def get(identifier):
    """A posterior from a config dict or a `Posterior` (returned as is).

    Args:
        identifier: a serialized posterior (dict) or a `Posterior`.

    Returns:
        A `Posterior`.

    Raises:
        ValueError: the identifier is of another type.
    """
    import keras

    if isinstance(identifier, dict):
        identifier = keras.saving.deserialize_keras_object(
            identifier, safe_mode=True
        )
    if isinstance(identifier, Posterior):
        return identifier
    raise ValueError(
        "`posterior` must be a `keras_vae.posteriors.Posterior` (e.g. "
        "`keras_vae.posteriors.DiagonalGaussian(latent_dim)`) or its config "
        f"dict. Received: posterior={identifier!r}"
    )


__all__ = ["DiagonalGaussian", "Posterior", "get"]
