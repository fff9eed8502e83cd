"""Keras callbacks for training VAEs."""

from keras_vae.callbacks.nan_guard import NaNGuard

__all__ = ["NaNGuard"]
