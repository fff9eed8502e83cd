"""The presets' networks: `keras_vae.training.architectures`."""

from keras_vae.training.architectures import *  # noqa: F403
