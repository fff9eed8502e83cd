"""Loading Keras files that may be damaged: errors that name the file.

A truncated `.keras` file makes Keras say "File not found" about a file
that exists, and a damaged `.h5` file gives h5py's message alone, naming
nothing. These helpers check a file's integrity first (the CRC of every
member of a `.keras` zip archive; that an `.h5` file opens and every
dataset in it reads) and raise one error, of the caller's class, that names
the file and says it is damaged, with what to do about it.

    load_model_or_raise(path, error_cls=ValueError, hint=None, **kwargs)
    load_weights_or_raise(model, path, error_cls=ValueError, hint=None)
    check_keras_file(path, error_cls=ValueError, hint=None)
"""

import io
import json
import os
import stat
import zipfile

_EXCERPT = 200  # Characters of a low-level message quoted in an error.

# What Keras and h5py raise when a file's bytes are wrong (once the file
# has passed `check_keras_file`, a ValueError means something else: a
# model that safe mode refuses, weights of another model...).
_DAMAGE = (
    OSError,
    KeyError,
    EOFError,
    zipfile.BadZipFile,
    json.JSONDecodeError,
    UnicodeDecodeError,
)


def _excerpt(error):
    text = " ".join(str(error).split()) or type(error).__name__
    if len(text) > _EXCERPT:
        text = text[: _EXCERPT - 3] + "..."
    return text


def _error(error_cls, message, hint):
    return error_cls(f"{message} {hint}" if hint else message)


def _damaged(error_cls, path, reason, hint):
    return _error(
        error_cls,
        f"{path} is damaged (truncated or corrupt: {reason}); it cannot be "
        "loaded.",
        hint,
    )


def _keras_zip_problem(path):
    """Why the `.keras` archive at `path` is damaged, or None."""
    if not zipfile.is_zipfile(path):
        return "not a complete zip archive"
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            bad = archive.testzip()  # Reads every member, checks its CRC.
            if bad is not None:
                return f"the CRC of its member {bad!r} does not match"
            if "config.json" not in names:
                return "it holds no config.json"
            json.loads(archive.read("config.json"))
            for name in names:
                if name.endswith(".h5"):
                    problem = _h5_problem(io.BytesIO(archive.read(name)))
                    if problem is not None:
                        return f"its member {name!r}: {problem}"
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        return _excerpt(e)
    return None


def _h5_problem(source):
    """Why the HDF5 file `source` (a path or a file object) is damaged."""
    import h5py

    def read(name, item):
        if isinstance(item, h5py.Dataset):
            item[()]

    try:
        with h5py.File(source, "r") as f:
            f.visititems(read)
    except (OSError, RuntimeError, KeyError, ValueError, TypeError) as e:
        return _excerpt(e)
    return None


def check_keras_file(path, error_cls=ValueError, hint=None):
    """Checks that a `.keras`, `.h5` or `.weights.h5` file is intact.

    Args:
        path: str or path-like. The file.
        error_cls: the exception class to raise, called with one argument,
            the message. Default `ValueError`.
        hint: str or None. What to do about it, appended to the message
            (e.g. "Move it away to start afresh.").

    Raises:
        error_cls: The file is missing, is not a regular file, cannot be
            read, or is damaged (the message names `path` and says so).

    Example:

    ```python
    import keras
    from keras_vae.utils._damaged import check_keras_file

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.save("model.keras")
    check_keras_file("model.keras")
    ```
    """
    path = os.fspath(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise _error(error_cls, f"{path} does not exist.", hint) from None
    except OSError as e:
        raise _error(
            error_cls, f"{path} cannot be read: {_excerpt(e)}.", hint
        ) from None
    if not stat.S_ISREG(mode):
        raise _error(error_cls, f"{path} is not a regular file.", hint)
    try:
        with open(path, "rb"):
            pass
    except OSError as e:
        raise _error(
            error_cls, f"{path} cannot be read: {e.strerror}.", hint
        ) from None
    if path.endswith(".keras"):
        problem = _keras_zip_problem(path)
    elif path.endswith((".h5", ".hdf5")):
        problem = _h5_problem(path)
    else:
        raise _error(
            error_cls,
            f"{path} is not a Keras file: its name must end in .keras or .h5.",
            hint,
        )
    if problem is not None:
        raise _damaged(error_cls, path, problem, hint)


def load_model_or_raise(path, error_cls=ValueError, hint=None, **kwargs):
    """`keras.saving.load_model(path)`, or an error that names the file.

    Checks the file with `check_keras_file` first: a damaged file is
    refused with an error that names it and says it is damaged. Any other
    failure to load it (a model safe mode refuses, an unknown class) is
    raised as `error_cls` too, naming the file and quoting Keras's reason.

    Args:
        path: str or path-like. A `.keras` (or legacy `.h5`) model file.
        error_cls: the exception class to raise, called with the message.
            Default `ValueError`.
        hint: str or None. What to do about a damaged file, appended to
            the message.
        **kwargs: passed to `keras.saving.load_model` (`safe_mode`,
            `compile`, `custom_objects`).

    Returns:
        The loaded Keras model.

    Raises:
        error_cls: The file is missing, damaged, or cannot be loaded.

    Example:

    ```python
    import keras
    from keras_vae.utils._damaged import load_model_or_raise

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.save("model.keras")
    same = load_model_or_raise("model.keras")
    ```
    """
    import keras

    path = os.fspath(path)
    check_keras_file(path, error_cls, hint)
    try:
        return keras.saving.load_model(path, **kwargs)
    except _DAMAGE as e:
        raise _damaged(error_cls, path, _excerpt(e), hint) from e
    except ValueError as e:
        raise error_cls(f"cannot load {path}: {_excerpt(e)}") from e


def load_weights_or_raise(model, path, error_cls=ValueError, hint=None):
    """`model.load_weights(path)`, or an error that names the file.

    Checks the file with `check_keras_file` first: a damaged file is
    refused with an error that names it and says it is damaged. Weights
    that do not fit `model` are refused too, naming the file.

    Args:
        model: a built Keras model (or layer).
        path: str or path-like. A `.weights.h5` file (or a `.keras` file).
        error_cls: the exception class to raise, called with the message.
            Default `ValueError`.
        hint: str or None. What to do about a damaged file, appended to
            the message.

    Raises:
        error_cls: The file is missing, damaged, or does not fit `model`.

    Example:

    ```python
    import keras
    from keras_vae.utils._damaged import load_weights_or_raise

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.save_weights("model.weights.h5")
    load_weights_or_raise(model, "model.weights.h5")
    ```
    """
    path = os.fspath(path)
    check_keras_file(path, error_cls, hint)
    try:
        model.load_weights(path)
    except _DAMAGE as e:
        raise _damaged(error_cls, path, _excerpt(e), hint) from e
    except ValueError as e:
        raise error_cls(
            f"cannot load the weights {path}: {_excerpt(e)} (a damaged file, "
            "or weights of another model)"
        ) from e
