"""Keras models for VAEs."""

from keras_vae.models.conditional_vae import ConditionalVAE
from keras_vae.models.hierarchical_vae import HierarchicalVAE
from keras_vae.models.vae import VAE
from keras_vae.models.vq_vae import VQVAE

__all__ = ["ConditionalVAE", "HierarchicalVAE", "VAE", "VQVAE"]
