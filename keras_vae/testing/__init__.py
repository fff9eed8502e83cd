"""Test helpers for keras_vae layers and models (and for those built on
them): `run_layer_test` for layers, `run_vae_test` for VAE models, and a
linear-Gaussian VAE whose `log p(x)` is known, for `check_bounds`."""

from keras_vae.testing.layer_test import check_config_round_trip
from keras_vae.testing.layer_test import dtype_name
from keras_vae.testing.layer_test import run_layer_test
from keras_vae.testing.layer_test import to_numpy
from keras_vae.testing.vae_test import check_bounds
from keras_vae.testing.vae_test import exact_log_likelihood
from keras_vae.testing.vae_test import linear_gaussian_data
from keras_vae.testing.vae_test import linear_gaussian_vae
from keras_vae.testing.vae_test import run_vae_test
from keras_vae.testing.vae_test import set_exact_posterior

__all__ = [
    "check_bounds",
    "check_config_round_trip",
    "dtype_name",
    "exact_log_likelihood",
    "linear_gaussian_data",
    "linear_gaussian_vae",
    "run_layer_test",
    "run_vae_test",
    "set_exact_posterior",
    "to_numpy",
]
