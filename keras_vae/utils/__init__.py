"""Utilities: image grids and atomic file writes."""

from keras_vae.utils.files import atomic_write
from keras_vae.utils.images import image_grid
from keras_vae.utils.images import save_image_grid

__all__ = ["atomic_write", "image_grid", "save_image_grid"]
