"""Test helpers for keras_vae layers (and for layers built on them)."""

from keras_vae.testing.layer_test import check_config_round_trip
from keras_vae.testing.layer_test import dtype_name
from keras_vae.testing.layer_test import run_layer_test
from keras_vae.testing.layer_test import to_numpy

__all__ = [
    "check_config_round_trip",
    "dtype_name",
    "run_layer_test",
    "to_numpy",
]
