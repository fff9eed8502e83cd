import os

import keras
import pytest


def pytest_report_header(config):
    return f"keras {keras.__version__}, backend {keras.backend.backend()}"


@pytest.fixture(autouse=True)
def _clean_keras_state():
    """Each test starts from a fresh Keras session, the float32 policy and
    seeded random generators (Python's, which Keras draws its initializer
    seeds from, NumPy's, the backend's), so a test's weights and inputs are
    the same on every run whichever tests ran before it in the worker (and a
    failure can be reproduced)."""
    keras.utils.clear_session()
    keras.utils.set_random_seed(0)
    keras.config.set_dtype_policy("float32")
    yield
    keras.config.set_dtype_policy("float32")


@pytest.fixture
def backend():
    return keras.backend.backend()


@pytest.fixture
def tmp_model_path(tmp_path):
    return os.path.join(tmp_path, "model.keras")


@pytest.fixture
def unsafe_preset(tmp_path):
    """A preset directory, checksums right, whose model needs unsafe
    deserialization: its encoder holds a `Lambda` layer (Python code)."""
    import numpy as np

    import keras_vae

    encoder = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Flatten(),
            keras.layers.Lambda(lambda h: h * 2.0),
            keras.layers.Dense(8),
        ]
    )
    decoder = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(784),
            keras.layers.Reshape((28, 28, 1)),
        ]
    )
    vae = keras_vae.VAE(encoder, decoder, latent_dim=2, seed=0)
    vae(np.zeros((1, 28, 28, 1), "float32"))
    directory = tmp_path / "lambda"
    vae.save_to_preset(directory, metadata={"name": "lambda"})
    return str(directory)
