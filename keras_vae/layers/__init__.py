"""Keras layers for VAEs: drop them into any Keras 3 model."""

from keras_vae.layers.gaussian_encoder_head import GaussianEncoderHead
from keras_vae.layers.reparam_sampling import ReparamSampling
from keras_vae.layers.vector_quantizer import VectorQuantizer

__all__ = ["GaussianEncoderHead", "ReparamSampling", "VectorQuantizer"]
