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
