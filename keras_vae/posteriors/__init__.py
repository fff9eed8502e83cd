"""Approximate posteriors `q(z|x)`: the encoder's head, as Keras layers.

`VAE(posterior=...)` takes one (default: `DiagonalGaussian`).
"""

from keras_vae.posteriors.diagonal_gaussian import DiagonalGaussian
from keras_vae.posteriors.posterior import Posterior

__all__ = ["DiagonalGaussian", "Posterior"]
