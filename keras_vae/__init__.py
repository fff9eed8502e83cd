"""keras_vae: variational autoencoders for Keras 3.

Layers that drop into any Keras model (`keras_vae.layers`), a `VAE` model,
backend-neutral math (`keras_vae.ops`), and pretrained presets.
"""

from keras_vae import callbacks
from keras_vae import layers
from keras_vae import ops
from keras_vae.models.vae import VAE
from keras_vae.version import __version__

__all__ = ["VAE", "callbacks", "layers", "ops", "__version__"]
