import os

import keras
import pytest


def pytest_report_header(config):
    return f"keras {keras.__version__}, backend {keras.backend.backend()}"


@pytest.fixture(autouse=True)
def _clean_keras_state():
    """Each test starts from a fresh Keras session and the float32 policy."""
    keras.utils.clear_session()
    keras.config.set_dtype_policy("float32")
    yield
    keras.config.set_dtype_policy("float32")


@pytest.fixture
def backend():
    return keras.backend.backend()


@pytest.fixture
def tmp_model_path(tmp_path):
    return os.path.join(tmp_path, "model.keras")
