"""Reading and writing preset directories: verified, bounded and atomic.

Loading only reads. A preset is checked before any of it is used: its JSON
files must be regular files of bounded size with the expected structure,
`metadata.json` may name only plain files inside the directory, every file
must match its SHA-256 (for the presets shipped with keras_vae, the sums
pinned in `_checksums.py`, in the package's code), the model is rebuilt in
safe mode within a parameter budget, and it must reproduce the outputs
stored in `reference.npz`.

Saving never deletes what it did not write. A preset goes only into a
directory that does not exist, is empty, or is itself a keras_vae preset
holding nothing but its own files; the new version is written in a staging
directory beside it (marked as ours by a marker file naming the target) and
swapped in whole. A save killed at any point leaves the old version or the
new one; the next save to the same place removes what the killed one left.
"""

import contextlib
import datetime
import hashlib
import json
import math
import os
import re
import shutil
import stat
import threading

import keras
import numpy as np

from keras_vae.utils._damaged import load_weights_or_raise
from keras_vae.utils._marked import MarkedDirectories
from keras_vae.utils.environment import backend_version
from keras_vae.utils.files import current_umask
from keras_vae.utils.files import exchange
from keras_vae.utils.files import fsync_directory
from keras_vae.utils.images import save_image_grid
from keras_vae.version import __version__

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "metadata.json"
REFERENCE_FILE = "reference.npz"
"""Fixed latent vectors and their decoded outputs, as computed when the
preset was written: any backend loading the preset must reproduce them."""
PRESETS_DIR = os.path.dirname(os.path.abspath(__file__))
"""Where the presets that ship with keras_vae live."""

MAX_JSON_BYTES = 8 * 2**20
"""The largest `config.json` or `metadata.json` a preset may have (8 MiB;
the zoo's are under 25 KiB)."""
DEFAULT_MAX_PARAMETERS = 100_000_000
"""The parameter budget of a preset loaded from disk, unless overridden:
10^8 weights (400 MB in float32; the zoo's largest has 4.6 million)."""
REFERENCE_TOLERANCE = 1e-3
"""How far a loaded model's outputs may be from `reference.npz` (absolute,
on probabilities and encoder outputs; backends agree to about 1e-5)."""

STAGING_MARKER = ".keras_vae_staging.json"
"""The file inside every staging directory a save creates: it names the
preset the staging directory is for, and who made it."""
_STAGING_INFIX = ".keras-vae-staging-"
_NEW = "new"
_OLD = "old"
_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class PresetError(ValueError):
    """A preset is unknown, incomplete, damaged, modified or malformed, or
    cannot be saved where it was asked to be."""


def _excerpt(value, limit=60):
    """`repr(value)`, cut to about `limit` characters for messages."""
    try:
        text = repr(value)
    except RecursionError:
        text = f"<a {type(value).__name__} nested too deeply to show>"
    if len(text) > limit:
        text = text[: limit - 5] + " ...)"
    return text


def sha256_file(path):
    """The SHA-256 of the regular file at `path`, hex. A link, a FIFO or a
    device is refused, not opened for reading (which could block)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    flags |= getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise PresetError(f"{path} is not a regular file: not read.")
        digest = hashlib.sha256()
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ----------------------------------------------------------------------
# Reading: every check happens before a file is opened or used.


def _check_file_name(directory, name):
    """Refuses a name of `metadata.json`'s `files` that is not a plain file
    name (no path, no `..`, not hidden)."""
    if not isinstance(name, str) or not _FILE_NAME.fullmatch(name):
        raise PresetError(
            f"The metadata of {directory!r} lists a file that is not a "
            "plain file name inside the preset directory (letters, digits, "
            f"'_', '-', '.'; no path, not hidden): {_excerpt(name)}. "
            "Refusing to open it."
        )
    return name


def _regular_file(directory, name):
    """The path of `name` in `directory` if it is a regular file (not a
    link, a device or a directory), else PresetError."""
    path = os.path.join(directory, name)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise PresetError(f"Preset file missing: {path}") from None
    if not stat.S_ISREG(info.st_mode):
        kind = (
            "a symbolic link"
            if stat.S_ISLNK(info.st_mode)
            else ("a directory" if stat.S_ISDIR(info.st_mode) else "not a file")
        )
        raise PresetError(
            f"Preset file {path} is {kind}, not a regular file: refusing "
            "to open it."
        )
    return path


def _read_json(directory, name, max_bytes=MAX_JSON_BYTES):
    """Parses a preset's JSON file, bounded in size and depth."""
    path = _regular_file(directory, name)
    size = os.lstat(path).st_size
    if size > max_bytes:
        raise PresetError(
            f"{path} is {size:,} bytes, more than a preset's {name} may be "
            f"({max_bytes:,}): refusing to read it."
        )
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    flags |= getattr(os, "O_NONBLOCK", 0)
    with os.fdopen(os.open(path, flags), "rb") as f:
        data = f.read(max_bytes + 1)
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise PresetError(f"{path} is damaged: not UTF-8 text ({e}).") from None
    except json.JSONDecodeError as e:
        raise PresetError(f"{path} is damaged: not valid JSON ({e}).") from None
    except RecursionError:
        raise PresetError(
            f"{path} is not a preset's {name}: its JSON is nested too deeply."
        ) from None


def _check_input_shape(where, shape, max_values=DEFAULT_MAX_PARAMETERS):
    """Returns `shape` as a tuple if it is a non-empty list of positive
    ints whose product is at most `max_values`, else PresetError."""
    if (
        not isinstance(shape, (list, tuple))
        or not shape
        or len(shape) > 8
        or not all(
            isinstance(d, int) and not isinstance(d, bool) and d > 0
            for d in shape
        )
    ):
        raise PresetError(
            f"{where}: `input_shape` must be a list of positive integers "
            f"(the shape of one example). Received: {_excerpt(shape)}"
        )
    if math.prod(shape) > max_values:
        raise PresetError(
            f"{where}: `input_shape` {list(shape)} has "
            f"{math.prod(shape):,} values per example, more than the "
            f"budget of {max_values:,}."
        )
    return tuple(shape)


def _check_metadata(directory, metadata):
    """Checks the structure of a preset's metadata; returns it."""
    where = os.path.join(directory, METADATA_FILE)
    if not isinstance(metadata, dict):
        raise PresetError(
            f"{where} must hold a JSON object. Received a "
            f"{type(metadata).__name__}: {_excerpt(metadata)}"
        )
    files = metadata.get("files")
    if not isinstance(files, dict) or not files:
        raise PresetError(
            f"{where} has no `files` (the SHA-256 of every file of the "
            f"preset): it is not a keras_vae preset, or is damaged. "
            f"Received: files={_excerpt(files)}"
        )
    for name, digest in files.items():
        _check_file_name(directory, name)
        if name == METADATA_FILE:
            raise PresetError(f"{where} lists itself among its `files`.")
        if not isinstance(digest, str) or not _SHA256.match(digest):
            raise PresetError(
                f"{where}: the checksum of {name} must be a SHA-256 (64 "
                f"lower-case hex digits). Received: {_excerpt(digest)}"
            )
    for required in (CONFIG_FILE, WEIGHTS_FILE, REFERENCE_FILE):
        if required not in files:
            raise PresetError(
                f"{where} lists no checksum for {required}: the preset is "
                "incomplete."
            )
    if "input_shape" not in metadata:
        raise PresetError(f"{where} has no `input_shape`.")
    _check_input_shape(where, metadata["input_shape"])
    for key, kind in (
        ("name", str),
        ("description", str),
        ("dataset", str),
        ("metrics", dict),
        ("protocol", dict),
        ("training", dict),
    ):
        if key in metadata and not isinstance(metadata[key], kind):
            raise PresetError(
                f"{where}: `{key}` must be a {kind.__name__}. Received: "
                f"{_excerpt(metadata[key])}"
            )
    return metadata


def read_metadata(directory):
    """Reads a preset's `metadata.json`, checking its structure (not yet the
    checksums of its files).

    Args:
        directory: str. The preset directory (see `resolve` for names).

    Returns:
        The metadata, a dict: metrics, training command, versions, the
        SHA-256 of every file...

    Raises:
        PresetError: if the directory holds no `metadata.json`, or one that
            is not a regular file, too large, not JSON, or lacks what a
            preset's metadata holds.

    Example:

    ```python
    import os
    import tempfile
    import keras
    import numpy as np
    import keras_vae

    # A tiny VAE for 8x8 grey images.
    encoder = keras.Sequential(
        [keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(8)]
    )
    decoder = keras.Sequential(
        [keras.Input((2,)), keras.layers.Dense(64),
         keras.layers.Reshape((8, 8, 1))]
    )
    vae = keras_vae.VAE(encoder, decoder, latent_dim=2, seed=0)
    vae(np.zeros((1, 8, 8, 1), "float32"))  # Build the weights.
    directory = os.path.join(tempfile.mkdtemp(), "tiny")
    keras_vae.presets.save_preset(vae, directory, metadata={"seed": 0})
    keras_vae.presets.read_metadata(directory)["input_shape"]  # [8, 8, 1]
    ```
    """
    directory = os.fspath(directory)
    if not os.path.lexists(os.path.join(directory, METADATA_FILE)):
        raise PresetError(
            f"{directory!r} is not a preset directory: it has no "
            f"{METADATA_FILE}."
        )
    return _check_metadata(directory, _read_json(directory, METADATA_FILE))


def _hash_and_compare(directory, expected, source):
    """Checks each file of `expected` ({name: sha256}) in `directory`; the
    error names every file that differs, data files first."""
    changed = []
    for filename, digest in sorted(expected.items()):
        actual = sha256_file(_regular_file(directory, filename))
        if actual != digest:
            changed.append((filename == METADATA_FILE, filename, actual))
    if changed:
        names = ", ".join(name for _, name, _ in sorted(changed))
        _, first, actual = sorted(changed)[0]
        raise PresetError(
            f"The preset {directory!r} was modified: {names} "
            f"{'does' if len(changed) == 1 else 'do'} not match {source} "
            f"({first}: SHA-256 {actual}, expected {expected[first]}). "
            "Refusing to load it."
        )


def verify(directory, pinned=None):
    """Checks every file of a preset against its SHA-256.

    A preset from a path is checked against the sums of its own
    `metadata.json` (which proves it whole, not who made it: see
    `load`). A preset shipped with keras_vae is checked against the sums
    pinned in the package's code, `metadata.json` included, so an
    installed preset whose files were replaced and re-hashed is refused.

    Args:
        directory: str. The preset directory.
        pinned: dict or None. `{filename: sha256}` to check against
            instead of the metadata's own sums; it must cover exactly the
            metadata's files and `metadata.json`.

    Returns:
        The metadata, a dict.

    Raises:
        PresetError: a file is missing, not a regular file, or modified,
            or the metadata is malformed.

    Example:

    ```python
    import os
    import tempfile
    import keras
    import numpy as np
    import keras_vae

    # A tiny VAE for 8x8 grey images.
    encoder = keras.Sequential(
        [keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(8)]
    )
    decoder = keras.Sequential(
        [keras.Input((2,)), keras.layers.Dense(64),
         keras.layers.Reshape((8, 8, 1))]
    )
    vae = keras_vae.VAE(encoder, decoder, latent_dim=2, seed=0)
    vae(np.zeros((1, 8, 8, 1), "float32"))  # Build the weights.
    directory = os.path.join(tempfile.mkdtemp(), "tiny")
    keras_vae.presets.save_preset(vae, directory)
    metadata = keras_vae.presets.verify_preset(directory)  # all files intact
    ```
    """
    directory = os.fspath(directory)
    if pinned is None:
        metadata = read_metadata(directory)
        _hash_and_compare(directory, metadata["files"], "its metadata")
        return metadata
    # Pinned: hash first, so no byte of a modified file is parsed.
    _hash_and_compare(directory, pinned, "keras_vae (the sums it pins)")
    metadata = read_metadata(directory)
    listed = set(metadata["files"]) | {METADATA_FILE}
    if listed != set(pinned):
        raise PresetError(
            f"The files of the preset {directory!r} ({sorted(listed)}) are "
            f"not those keras_vae pins ({sorted(pinned)})."
        )
    return metadata


def _pins():
    from keras_vae.presets._checksums import PINNED

    return PINNED


def builtin_presets():
    """Names of the presets shipped in `keras_vae/presets/`, sorted."""
    names = []
    for entry in sorted(os.listdir(PRESETS_DIR)):
        path = os.path.join(PRESETS_DIR, entry)
        if (
            not entry.startswith((".", "_"))
            and os.path.isdir(path)
            and os.path.lexists(os.path.join(path, METADATA_FILE))
        ):
            names.append(entry)
    return names


def _is_builtin_name(path):
    return os.sep not in path and "/" not in path and path in builtin_presets()


def resolve(name_or_directory):
    """The directory of a preset given by name or by path. Only reads.

    Raises:
        PresetError: if it is neither a shipped preset nor a directory.
    """
    path = os.fspath(name_or_directory)
    if _is_builtin_name(path):
        return os.path.join(PRESETS_DIR, path)
    if os.path.isdir(path):
        return path
    raise PresetError(
        f"Unknown preset: {name_or_directory!r}. It is neither a preset of "
        f"keras_vae ({', '.join(builtin_presets()) or 'none installed'}) "
        "nor a directory. `keras_vae.presets.list_presets()` lists them."
    )


_budget = threading.local()
_budget_lock = threading.RLock()


@contextlib.contextmanager
def parameter_budget(max_parameters):
    """Refuses, before allocating it, any weight that would take the layers
    built in this thread past `max_parameters` values in all.

    Keras allocates a layer's weights when it is built, which for a
    `Sequential` model with an `Input` is while its config is read: a
    crafted config (`Dense(units=10**9)`) would abort the process inside
    the backend. Under this context, `keras.layers.Layer.add_weight` checks
    the budget first and raises a `PresetError`.
    """
    with _budget_lock:
        outer = (
            getattr(_budget, "limit", None),
            getattr(_budget, "remaining", 0),
        )
        if outer[0] is not None:  # Nested: the tighter budget holds.
            max_parameters = min(max_parameters, outer[1])
        _budget.remaining = max_parameters
        _budget.limit = max_parameters
        original = keras.layers.Layer.add_weight
        patched = getattr(original, "_keras_vae_budget", False)
        if not patched:

            def add_weight(self, shape=None, *args, **kwargs):
                limit = getattr(_budget, "limit", None)
                if shape is not None and limit is not None:
                    try:
                        size = math.prod(int(d) for d in shape)
                    except (TypeError, ValueError):
                        size = 0
                    if size > _budget.remaining:
                        raise PresetError(
                            f"Building the preset's model would allocate "
                            f"more than {limit:,} parameters (the layer "
                            f"{self.name!r} asks for a weight of shape "
                            f"{tuple(shape)}): refusing. If you trust this "
                            "preset, raise `max_parameters`."
                        )
                    _budget.remaining -= size
                return original(self, shape, *args, **kwargs)

            add_weight._keras_vae_budget = True
            keras.layers.Layer.add_weight = add_weight
        try:
            yield
        finally:
            if not patched:
                keras.layers.Layer.add_weight = original
            used = _budget.limit - _budget.remaining
            _budget.limit = outer[0]
            _budget.remaining = outer[1] - used


def _read_config(directory):
    config = _read_json(directory, CONFIG_FILE)
    path = os.path.join(directory, CONFIG_FILE)
    registered = (
        config.get("registered_name") if isinstance(config, dict) else None
    )
    if not isinstance(config, dict) or not isinstance(
        config.get("config"), dict
    ):
        raise PresetError(
            f"{path} is not a Keras model config (a JSON object with "
            f"`class_name` and `config`). Received: {_excerpt(config)}"
        )
    if not (
        isinstance(registered, str) and registered.startswith("keras_vae>")
    ):
        raise PresetError(
            f"{path} describes a {_excerpt(config.get('class_name'))} "
            f"(registered as {_excerpt(registered)}), not a keras_vae "
            "model."
        )
    return config


def _build(directory, config, input_shape, max_parameters):
    """The model of `config`, built and with its weights, in safe mode."""
    path = os.path.join(directory, CONFIG_FILE)
    with parameter_budget(max_parameters):
        try:
            model = keras.saving.deserialize_keras_object(
                config, safe_mode=True
            )
        except PresetError:
            raise
        except Exception as e:
            raise PresetError(
                f"{path} does not describe a model keras_vae can build "
                f"safely: {_excerpt(str(e), 300)}"
            ) from None
        if not isinstance(model, keras.Model) or not hasattr(model, "encoder"):
            raise PresetError(
                f"{path} describes a {type(model).__name__}, not a "
                "keras_vae model."
            )
        _check_activations(path, model, max_parameters)
        try:
            model(model._dummy_inputs(input_shape))  # Build the weights.
        except PresetError:
            raise
        except Exception as e:
            raise PresetError(
                f"The model of {path} does not take inputs of the metadata's "
                f"input_shape {list(input_shape)}: {_excerpt(str(e), 300)}"
            ) from None
    load_weights_or_raise(
        model, os.path.join(directory, WEIGHTS_FILE), PresetError
    )
    return model


# A VAE's: latents, their decoding, its encoding. A VQ-VAE's: code
# indices (as floats), their decoding, the encoder's vectors for it.
_REFERENCE_KEYS = ("z", "decoded", "mean", "log_var", "codes", "encoded")
_REFERENCE_ROWS = 64
_MAX_REFERENCE_BYTES = 64 * 2**20


def _read_reference(path):
    """The arrays of a `reference.npz`, its members' sizes checked before
    any is read (an archive can declare huge arrays in a few bytes)."""
    import zipfile

    try:
        with open(path, "rb") as f:
            with zipfile.ZipFile(f) as archive:
                members = archive.infolist()
                total = sum(info.file_size for info in members)
                names = {info.filename for info in members}
                if total > _MAX_REFERENCE_BYTES or not names <= {
                    f"{key}.npy" for key in _REFERENCE_KEYS
                }:
                    raise PresetError(
                        f"{path} is not a reference of keras_vae: it holds "
                        f"{_describe_entries(sorted(names))} ({total:,} "
                        f"bytes; at most {_MAX_REFERENCE_BYTES:,})."
                    )
            f.seek(0)
            with np.load(f, allow_pickle=False) as stored:
                return {key: np.asarray(stored[key]) for key in stored.files}
    except PresetError:
        raise
    except Exception as e:
        raise PresetError(
            f"{path} is damaged: {_excerpt(str(e), 200)}"
        ) from None


def _check_activations(path, model, max_values):
    """Refuses a model whose encoder or decoder would compute more than
    `max_values` values per example (a `RepeatVector(2**34)` allocates
    nothing when built, everything when called), from the output shapes
    of their layers, before the model is first called."""
    from keras_vae.models.vae import _activations_per_example

    for part in ("encoder", "decoder"):
        count = _activations_per_example(getattr(model, part))
        if count is not None and count > max_values:
            raise PresetError(
                f"The {part} of {path} computes {count:,} values per "
                f"example, more than the budget of {max_values:,}: "
                "refusing to run it. If you trust this preset, raise "
                "`max_parameters`."
            )


def check_reference(model, directory):
    """Checks that `model` reproduces the preset's `reference.npz`.

    Raises:
        PresetError: if the file is malformed, or the outputs differ by
            more than `REFERENCE_TOLERANCE` (other weights than those
            the reference was made with).
    """
    path = _regular_file(directory, REFERENCE_FILE)
    reference = _read_reference(path)
    if any(a.dtype.kind != "f" for a in reference.values()):
        raise PresetError(f"{path} holds arrays that are not float arrays.")
    if hasattr(model, "_preset_reference_checks"):  # A VQ-VAE.
        checks = model._preset_reference_checks(reference, path)
    else:
        checks = _vae_reference_checks(model, reference, path)
    for key, actual, expected in checks:
        if actual.shape != expected.shape or not np.allclose(
            actual, expected, atol=REFERENCE_TOLERANCE, rtol=0
        ):
            worst = (
                float(np.max(np.abs(actual - expected)))
                if actual.shape == expected.shape
                else "shape"
            )
            raise PresetError(
                f"The model of {directory!r} does not reproduce its "
                f"{REFERENCE_FILE} (`{key}` differs by {worst}, more than "
                f"{REFERENCE_TOLERANCE}): its weights are not those the "
                "preset was saved with. Refusing to load it."
            )


def _vae_reference_checks(model, reference, path):
    """`(key, actual, expected)` of a VAE's reference: its decoding of the
    stored latents, and its encoding of that decoding."""
    z = reference.get("z")
    decoded = reference.get("decoded")
    input_shape = tuple(model._encoder_input_shape()[1:])
    if (
        z is None
        or decoded is None
        or z.ndim != 2
        or z.shape[1] != model.latent_dim
        or not 0 < len(z) <= _REFERENCE_ROWS
        or decoded.shape != (len(z),) + input_shape
    ):
        raise PresetError(
            f"{path} does not hold the reference of this model (float "
            f"arrays `z` of shape (n, {model.latent_dim}), n <= "
            f"{_REFERENCE_ROWS}, and `decoded` of shape (n,) + "
            f"{input_shape})."
        )
    checks = [("decoded", _decode_reference(model, z), decoded)]
    if "mean" in reference and "log_var" in reference:
        mean, log_var = _encode_reference(model, decoded)
        checks += [
            ("mean", mean, reference["mean"]),
            ("log_var", log_var, reference["log_var"]),
        ]
    return checks


def load_as(cls, preset, max_parameters=None):
    """`load`, refusing a preset of another class than `cls` (or its
    subclasses); the metadata goes to the model's `preset_metadata`."""
    model, metadata = load(preset, max_parameters)
    if not isinstance(model, cls):
        raise PresetError(
            f"Preset {preset!r} holds a {type(model).__name__}, not a "
            f"{cls.__name__}."
        )
    model.preset_metadata = metadata
    return model


def load(name_or_directory, max_parameters=None):
    """Loads a preset's VAE (verified, safe mode, bounded) and metadata.

    Args:
        name_or_directory: str. A shipped preset's name, or a directory.
        max_parameters: int or None. The most weights the model may have;
            None means `DEFAULT_MAX_PARAMETERS`.

    Returns:
        `(model, metadata)`.
    """
    if max_parameters is None:
        max_parameters = DEFAULT_MAX_PARAMETERS
    if (
        isinstance(max_parameters, bool)
        or not isinstance(max_parameters, int)
        or max_parameters <= 0
    ):
        raise ValueError(
            "`max_parameters` must be a positive integer. Received: "
            f"max_parameters={max_parameters!r}"
        )
    path = os.fspath(name_or_directory)
    directory = resolve(path)
    pinned = None
    if _is_builtin_name(path):
        pinned = _pins().get(path)
        if pinned is None:
            raise PresetError(
                f"The preset {path!r} in {PRESETS_DIR} is not one keras_vae "
                "ships (no checksums are pinned for it): refusing to load "
                "it by name. Load it by its path to trust its own metadata."
            )
    metadata = verify(directory, pinned=pinned)
    input_shape = _check_input_shape(
        os.path.join(directory, METADATA_FILE),
        metadata["input_shape"],
        max_parameters,
    )
    config = _read_config(directory)
    model = _build(directory, config, input_shape, max_parameters)
    if pinned is None:  # Pinned files are the ones the tests checked.
        check_reference(model, directory)
    return model, metadata


# ----------------------------------------------------------------------
# Writing: only where nothing of the user's can be lost, staged, swapped
# in whole.


def _describe_entries(entries, limit=5):
    shown = ", ".join(repr(e) for e in sorted(entries)[:limit])
    more = len(entries) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def check_target(directory):
    """Refuses a place a preset may not be saved to, before anything is
    written: a preset goes only into a directory that does not exist, is
    empty, or is a keras_vae preset holding nothing but its own files.

    Args:
        directory: str. The absolute path of the preset directory.

    Raises:
        PresetError: naming the path and why.
    """
    advice = (
        "A preset is saved only into a new or empty directory, or over a "
        "keras_vae preset; choose another path."
    )
    if os.path.islink(directory):
        raise PresetError(
            f"Cannot save a preset at {directory!r}: it is a symbolic link. "
            f"{advice}"
        )
    if not os.path.lexists(directory):
        return
    if not os.path.isdir(directory):
        raise PresetError(
            f"Cannot save a preset at {directory!r}: it is a file, not a "
            f"directory. {advice}"
        )
    entries = os.listdir(directory)
    if not entries:
        return
    try:
        metadata = read_metadata(directory)
    except PresetError as e:
        raise PresetError(
            f"Cannot save a preset into {directory!r}: it holds "
            f"{_describe_entries(entries)} and is not a keras_vae preset "
            f"({e}). {advice}"
        ) from None
    try:
        verify(directory)
    except PresetError as e:
        raise PresetError(
            f"Cannot save a preset over {directory!r}: its files were changed "
            f"since it was saved ({e}), and saving would overwrite those "
            f"changes. {advice}"
        ) from None
    own = set(metadata["files"]) | {METADATA_FILE}
    foreign = [
        e
        for e in entries
        if e not in own
        or not stat.S_ISREG(os.lstat(os.path.join(directory, e)).st_mode)
    ]
    if foreign:
        raise PresetError(
            f"Cannot save a preset over {directory!r}: besides the "
            f"preset's own files it holds {_describe_entries(foreign)}, "
            f"which saving would delete. {advice}"
        )


_STAGING = MarkedDirectories(STAGING_MARKER, "keras_vae preset save")


def _staging_prefix(directory):
    return f".{os.path.basename(directory)}{_STAGING_INFIX}"


def recover_interrupted(directory):
    """Mends what saves of `directory` that were killed left behind.

    If the preset is missing because a save died between moving the old
    version aside and moving the new one in (possible only where the
    file system cannot exchange two directories atomically), the complete
    new version, or else the old one, is put in place. Then the staging
    directories of those saves are removed. Only directories that
    `keras_vae.utils._marked.MarkedDirectories.stale` proves are a dead
    save's of `directory` (its marker names `directory`, a process of this
    machine that no longer runs) are touched. Every save calls this first;
    loading never does.

    Args:
        directory: str. The absolute path of the preset directory.

    Returns:
        The number of staging directories removed.
    """
    parent = os.path.dirname(directory)
    stale = _STAGING.stale(parent, _staging_prefix(directory), directory)
    for staging, marker in stale:
        new = os.path.join(staging, _NEW)
        old = os.path.join(staging, _OLD)
        if not os.path.lexists(directory):
            if marker.get("complete") and os.path.isdir(new):
                os.rename(new, directory)
            elif os.path.isdir(old):
                os.rename(old, directory)
        _STAGING.remove(staging)
    return len(stale)


def _identity(path):
    """`(device, inode)` of `path` (not followed), or None if absent."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    return (info.st_dev, info.st_ino)


def _changed(directory):
    return PresetError(
        f"{directory!r} changed while the preset was being saved: nothing "
        "was replaced. Save again."
    )


def _swap_in(staging, directory, identity):
    """Puts `<staging>/new` in place of `directory`, which must still be
    what `check_target` accepted (`identity`); the old version goes into
    the staging directory, removed last."""
    new = os.path.join(staging, _NEW)
    if os.path.lexists(directory):
        if exchange(new, directory):
            replaced = new
        else:
            replaced = os.path.join(staging, _OLD)
            os.rename(directory, replaced)
        try:
            if _identity(replaced) != identity:
                raise _changed(directory)
            check_target(replaced)  # Nothing of the user's came in since.
        except PresetError:
            if replaced == new:
                exchange(new, directory)
            else:
                os.rename(replaced, directory)
            raise _changed(directory) from None
        if replaced != new:
            os.rename(new, directory)
    else:
        os.rename(new, directory)
    fsync_directory(os.path.dirname(directory))
    _STAGING.remove(staging)


@contextlib.contextmanager
def staged_version(directory, copy=False):
    """A new version of the preset `directory`, swapped in only when whole.

    Checks first that `directory` may be written (`check_target`) and
    mends what killed saves of it left (`recover_interrupted`). Yields an
    empty directory (or a copy of the current version, if `copy`) inside
    a staging directory beside `directory`, marked as ours by a marker
    file that names `directory`; when the block ends, the new version
    replaces the old one in one atomic exchange (two renames where the
    file system has none), provided `directory` is still what was
    checked. If the block raises, the new version is dropped and the old
    one stays; if the process is killed, the old or the new version is in
    place and the next save removes the rest.

    Args:
        directory: str. The preset directory, absolute.
        copy: bool. Start from a copy of the current version.
    """
    check_target(directory)
    parent = os.path.dirname(directory)
    if not os.path.isdir(parent):
        if os.path.lexists(parent):
            raise PresetError(
                f"Cannot save a preset at {directory!r}: {parent!r} is not a "
                "directory."
            )
        os.makedirs(parent)
    if recover_interrupted(directory):
        check_target(directory)  # Recovery may have put a version back.
    identity = _identity(directory)
    mode = (
        stat.S_IMODE(os.lstat(directory).st_mode)
        if identity is not None
        else 0o777 & ~current_umask()
    )
    staging = _STAGING.make(
        parent, _staging_prefix(directory), directory, complete=False
    )
    try:
        new = os.path.join(staging, _NEW)
        if copy:
            shutil.copytree(directory, new)
        else:
            os.mkdir(new)
        yield new
        for name in os.listdir(new):
            with open(os.path.join(new, name), "rb") as f:
                os.fsync(f.fileno())
        os.chmod(new, mode)
        _STAGING.write_marker(staging, directory, complete=True)
        check_target(directory)  # Again: it may have changed meanwhile.
        _swap_in(staging, directory, identity)
    except BaseException:
        with contextlib.suppress(OSError):
            _STAGING.remove(staging)
        raise


_RESERVED = (CONFIG_FILE, WEIGHTS_FILE, METADATA_FILE, REFERENCE_FILE)


def _check_new_metadata(model, metadata, input_shape, extra_files):
    """Refuses metadata and extra files that cannot be saved or whose
    preset would not load, before anything is written."""
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise PresetError(
            "`metadata` must be a dict of JSON values. Received: "
            f"{_excerpt(metadata)} of type {type(metadata).__name__}"
        )
    for key, value in metadata.items():
        try:
            if not isinstance(key, str):
                raise TypeError(f"a key must be a str, not {type(key)}")
            json.dumps({key: value}, allow_nan=False)
        except (TypeError, ValueError, RecursionError) as e:
            raise PresetError(
                f"`metadata[{key!r}]` cannot be saved as JSON ({e}): use "
                "numbers, strings, booleans, None, lists and dicts with "
                f"string keys (no NaN). Received: {_excerpt(value)}"
            ) from None
    if "files" in metadata:
        raise PresetError(
            "`metadata` may not set `files`: the checksums are computed "
            "when the preset is written."
        )
    if "input_shape" in metadata and metadata["input_shape"] != list(
        input_shape
    ):
        raise PresetError(
            "`metadata['input_shape']` must be the model's input shape, "
            f"{list(input_shape)}, or be left out. "
            f"Received: {_excerpt(metadata['input_shape'])}"
        )
    for filename in extra_files or {}:
        _check_file_name("the preset", filename)
        if filename in _RESERVED:
            raise PresetError(
                f"`extra_files` may not write {filename}: the preset writes "
                "it itself."
            )
    # What loading will check: the same structure, the same size bound.
    files = dict.fromkeys(_RESERVED[:2] + _RESERVED[3:], "0" * 64)
    _check_metadata(
        "the preset to save",
        {"input_shape": list(input_shape), **metadata, "files": files},
    )
    size = len(json.dumps(metadata, indent=2))
    if size > MAX_JSON_BYTES // 2:
        raise PresetError(
            f"`metadata` takes {size:,} bytes as JSON, more than a preset's "
            f"may ({MAX_JSON_BYTES // 2:,})."
        )
    return metadata


def _model_input_shape(model):
    """The encoder's input shape (no batch axis), checked to load again."""
    try:
        shape = model._encoder_input_shape()
    except (AttributeError, ValueError):
        shape = None
    if (
        not getattr(model, "built", False)
        or not isinstance(shape, tuple)
        or not all(isinstance(d, int) for d in shape[1:])
    ):
        raise PresetError(
            "A preset needs a built model whose encoder has a fixed input "
            "shape (made with `keras.Input(shape)`, no None but the batch "
            f"axis), so that it loads again. Received: input shape {shape}"
        )
    return _check_input_shape("The model's encoder", list(shape[1:]))


def save(model, directory, metadata=None, images=True, extra_files=None):
    """Writes a preset directory, atomically, never over a user's files.

    The directory must not exist, be empty, or be a keras_vae preset that
    holds only its own files (then it is replaced); a regular file, a
    symbolic link or a directory with anything else in it is refused
    before a byte is written. The files are written to a staging
    directory beside `directory` and swapped in only when complete: an
    interrupted save leaves the previous version whole (or, if there was
    none, no preset), and the next save removes its leftovers.

    Args:
        model: a built `keras_vae.VAE`.
        directory: str. The preset directory to write or replace.
        metadata: dict or None. Extra metadata (metrics, training
            command...), JSON values only.
        images: bool. Also write `samples.png` (64 samples from the prior,
            seed 0) when the data are images (2-d, or 3-d with 1 or 3
            channels).
        extra_files: dict or None. `{filename: writer}` where `writer(path)`
            writes one more file (a reconstructions grid, a model card...).

    Returns:
        `directory`, absolute.

    Raises:
        PresetError: the place cannot take a preset, or the model or the
            metadata could not be loaded back; nothing was written.

    Example:

    ```python
    import os
    import tempfile
    import keras
    import numpy as np
    import keras_vae

    # A tiny VAE for 8x8 grey images.
    encoder = keras.Sequential(
        [keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(8)]
    )
    decoder = keras.Sequential(
        [keras.Input((2,)), keras.layers.Dense(64),
         keras.layers.Reshape((8, 8, 1))]
    )
    vae = keras_vae.VAE(encoder, decoder, latent_dim=2, seed=0)
    vae(np.zeros((1, 8, 8, 1), "float32"))  # Build the weights.
    directory = os.path.join(tempfile.mkdtemp(), "tiny")
    keras_vae.presets.save_preset(
        vae, directory, metadata={"description": "a tiny VAE"}
    )
    same = keras_vae.VAE.from_preset(directory)
    ```
    """
    directory = os.path.abspath(os.fspath(directory))
    input_shape = _model_input_shape(model)
    metadata = _check_new_metadata(model, metadata, input_shape, extra_files)
    with staged_version(directory) as staging:
        with open(os.path.join(staging, CONFIG_FILE), "w") as f:
            json.dump(_model_config(model), f, indent=2)
        _without_optimizer(model).save_weights(
            os.path.join(staging, WEIGHTS_FILE)
        )
        _write_reference(model, os.path.join(staging, REFERENCE_FILE))
        if images and _is_image_shape(input_shape):
            save_image_grid(
                os.path.join(staging, "samples.png"),
                model._preview(64),
                columns=8,
                scale=2,
            )
        for filename, writer in (extra_files or {}).items():
            writer(os.path.join(staging, filename))
        files = {
            name: sha256_file(os.path.join(staging, name))
            for name in sorted(os.listdir(staging))
        }
        full_metadata = {
            "keras_vae_version": __version__,
            "keras_version": keras.__version__,
            "backend": keras.backend.backend(),
            "backend_version": backend_version(),
            "date": datetime.date.today().isoformat(),
            "parameters": int(model.count_params()),
            "input_shape": list(input_shape),
            **metadata,
            "files": files,
        }
        with open(os.path.join(staging, METADATA_FILE), "w") as f:
            json.dump(full_metadata, f, indent=2)
    return directory


def _is_image_shape(shape):
    """Whether data of this shape (no batch axis) can be drawn as images."""
    return len(shape) == 2 or (len(shape) == 3 and shape[-1] in (1, 3))


def reference_latents(latent_dim):
    """The fixed latent vectors of `reference.npz`: 8 draws, numpy seed 0."""
    rng = np.random.default_rng(0)
    return rng.standard_normal((8, latent_dim)).astype("float32")


def _encode_reference(model, decoded):
    """`(mean, log_var)` of the posterior for the reference's `decoded`.

    Not `model.encode`, which checks data against the likelihood's
    support: the mean of a discrete likelihood (Poisson, Categorical) is
    not whole numbers, and it is only a fixed input here.
    """
    decoded = np.asarray(decoded, "float32")
    condition = model._reference_condition(len(decoded))
    return model._batched(model._encoded, (decoded, condition), 256)


def _decode_reference(model, z):
    """The decoder's output for the reference's `z` (and, for a
    conditional model, its fixed reference conditions)."""
    z = np.asarray(z, "float32")
    return model._decode(z, model._reference_condition(len(z)), 256)


def reference_outputs(model, z, decoded=None):
    """The arrays of `reference.npz`, by which a preset loaded on another
    backend is checked: `decoded`, the decoder's output for the latents `z`,
    and `mean` and `log_var`, the encoder's output for `decoded` (images
    like the model's data, of the encoder's input shape by construction).

    Args:
        model: a `keras_vae.VAE`.
        z: the latents of `reference_latents`.
        decoded: the decoder's output for `z`, or None to compute it.

    Returns:
        A dict of numpy arrays.
    """
    decoded = _decode_reference(model, z) if decoded is None else decoded
    mean, log_var = _encode_reference(model, decoded)
    return {"z": z, "decoded": decoded, "mean": mean, "log_var": log_var}


def _write_reference(model, path):
    if hasattr(model, "_preset_reference"):  # A VQ-VAE.
        arrays = model._preset_reference()
    else:
        arrays = reference_outputs(model, reference_latents(model.latent_dim))
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def _model_config(model):
    """The model's serialized config, without its compile settings."""
    config = keras.saving.serialize_keras_object(model)
    config.pop("compile_config", None)
    return config


def _without_optimizer(model):
    """The model, or a copy without optimizer state if it has one.

    `save_weights` of a compiled model also writes its optimizer's slots
    (twice the weights, for Adam); a preset needs the model only.
    """
    if getattr(model, "optimizer", None) is None:
        return model
    copy = keras.saving.deserialize_keras_object(
        _model_config(model), safe_mode=True
    )
    copy(copy._dummy_inputs(model._encoder_input_shape()[1:]))
    for source, target in zip(model.weights, copy.weights, strict=True):
        target.assign(source)
    return copy


# ----------------------------------------------------------------------
# The checksums of the shipped presets, pinned in the package's code.

PINS_FILE = os.path.join(PRESETS_DIR, "_checksums.py")

_PINS_HEADER = '''"""\
The SHA-256 of every file of the presets that ship with keras_vae.

Generated by `zoo.publish` (`keras_vae.presets._preset_io.write_pins`) when
it publishes into the package: do not edit by hand. A shipped preset loads
by name only if each of its files, `metadata.json` included, has the sum
pinned here (as `keras.utils.get_file(file_hash=...)` pins a download).
"""

PINNED = '''


def pins_of(directory):
    """`{filename: sha256}` of a preset's files and its `metadata.json`,
    after checking the files against the metadata's own sums."""
    metadata = verify(directory)
    pins = dict(metadata["files"])
    pins[METADATA_FILE] = sha256_file(os.path.join(directory, METADATA_FILE))
    return dict(sorted(pins.items()))


def render_pins(pins):
    """The source of `_checksums.py` pinning `pins` ({preset: {file: sha}})."""
    lines = ["{"]
    for name in sorted(pins):
        lines.append(f"    {name!r}: {{")
        for filename, digest in sorted(pins[name].items()):
            lines.append(f"        {filename!r}: (")
            lines.append(f"            {digest!r}")
            lines.append("        ),")
        lines.append("    },")
    lines.append("}")
    return _PINS_HEADER + "\n".join(lines).replace("'", '"') + "\n"


def pin(name, directory):
    """Pins the checksums of the shipped preset `name` (at `directory`) in
    `_checksums.py`, keeping the other presets' pins."""
    pins = dict(_pins())
    pins[name] = pins_of(directory)
    write_pins(pins)


def write_pins(pins):
    """Rewrites `_checksums.py` (atomically) to pin `pins`."""
    from keras_vae.utils import atomic_write

    with atomic_write(PINS_FILE, "w") as f:
        f.write(render_pins(pins))
    current = _pins()
    current.clear()
    current.update(pins)
