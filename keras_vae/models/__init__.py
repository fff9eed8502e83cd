"""Keras models for VAEs."""

from keras_vae.models.conditional_vae import ConditionalVAE
from keras_vae.models.vae import VAE
from keras_vae.models.vq_vae import VQVAE

__all__ = ["ConditionalVAE", "VAE", "VQVAE"]
