"""What a run or a preset was made with: package versions and hardware."""

import importlib
import os
import platform

import keras

from keras_vae.version import __version__

# The backends whose package has the backend's name.
_BACKEND_PACKAGES = ("tensorflow", "jax", "torch", "numpy")


def backend_version():
    """The version of the package behind the current Keras backend.

    Returns:
        A version string such as `"0.10.2"`, or `None` for a backend whose
        package is not known.

    Example:

    ```python
    from keras_vae.utils.environment import backend_version

    print(backend_version())  # e.g. "2.21.0" on KERAS_BACKEND=tensorflow
    ```
    """
    backend = keras.backend.backend()
    if backend not in _BACKEND_PACKAGES:
        return None
    return getattr(importlib.import_module(backend), "__version__", None)


def environment_versions():
    """The versions of keras_vae, Keras and the backend, as a dict.

    Returns:
        A dict with the keys `keras_vae`, `keras`, `backend` (its name) and
        `backend_version`.

    Example:

    ```python
    from keras_vae.utils.environment import environment_versions

    versions = environment_versions()
    assert set(versions) == {"keras_vae", "keras", "backend", "backend_version"}
    ```
    """
    return {
        "keras_vae": __version__,
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "backend_version": backend_version(),
    }


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _accelerators():
    """Names of the accelerators the current backend sees (may be empty)."""
    backend = keras.backend.backend()
    try:
        if backend == "jax":
            import jax

            return [d.device_kind for d in jax.devices() if d.platform != "cpu"]
        if backend == "tensorflow":
            import tensorflow as tf

            return [d.name for d in tf.config.list_physical_devices("GPU")]
        if backend == "torch":
            import torch

            if torch.cuda.is_available():
                return [
                    torch.cuda.get_device_name(i)
                    for i in range(torch.cuda.device_count())
                ]
    except Exception:  # A description must never fail a training run.
        return []
    return []


def describe_hardware():
    """A one-line description of this machine: CPU cores and accelerators.

    Returns:
        A str such as `"2-core CPU (AMD EPYC 7B13)"` or
        `"16-core CPU (...), 1 x NVIDIA H100 80GB HBM3"`.

    Example:

    ```python
    from keras_vae.utils.environment import describe_hardware

    assert "CPU" in describe_hardware()
    ```
    """
    text = f"{os.cpu_count()}-core CPU ({_cpu_model()})"
    accelerators = _accelerators()
    if accelerators:
        names = sorted(set(accelerators))
        text += ", " + ", ".join(
            f"{accelerators.count(n)} x {n}" for n in names
        )
    return text
