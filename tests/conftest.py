import os

import keras
import pytest


def pytest_report_header(config):
    return f"keras {keras.__version__}, backend {keras.backend.backend()}"


# `scripts/test.sh` runs the suite once per backend. A test marked
# `backend_independent` checks what no backend changes (argument errors,
# file handling, the console script, commands whose model code other tests
# run on every backend): it runs with the first backend only, and is left
# out on the others (KERAS_VAE_BACKEND_TESTS_ONLY=1), unless it is also
# marked `every_backend` (a module marked as a whole keeps its few smoke
# tests on every backend).
BACKEND_TESTS_ONLY = os.environ.get("KERAS_VAE_BACKEND_TESTS_ONLY") == "1"


def pytest_collection_modifyitems(config, items):
    if not BACKEND_TESTS_ONLY:
        return
    kept, left_out = [], []
    for item in items:
        independent = item.get_closest_marker("backend_independent")
        every = item.get_closest_marker("every_backend")
        (left_out if independent and not every else kept).append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept


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
