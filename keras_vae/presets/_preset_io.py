"""Reading and writing preset directories, verified and atomic."""

import contextlib
import datetime
import glob
import hashlib
import json
import os
import shutil
import tempfile

import keras
import numpy as np

from keras_vae.utils.environment import backend_version
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


class PresetError(ValueError):
    """A preset is unknown, incomplete or does not match its checksums."""


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _backup_dirs(directory):
    parent, base = os.path.split(os.path.abspath(directory))
    return sorted(glob.glob(os.path.join(parent, f".{base}.old-*")))


def recover(directory):
    """Restores a preset left aside by a publish interrupted mid-swap.

    A publish moves the old version to `.<name>.old-*` before moving the new
    one into place; if it stopped between the two, the old version is still
    whole there and is moved back. Leftovers next to a complete preset are
    removed.

    Args:
        directory: str. The preset directory.
    """
    backups = _backup_dirs(directory)
    if not os.path.isdir(directory) and backups:
        os.replace(backups[-1], directory)
        backups = backups[:-1]
    for backup in backups:
        shutil.rmtree(backup, ignore_errors=True)


def builtin_presets():
    """Names of the presets shipped in `keras_vae/presets/`, sorted."""
    names = []
    for entry in sorted(os.listdir(PRESETS_DIR)):
        path = os.path.join(PRESETS_DIR, entry)
        if not entry.startswith((".", "_")) and os.path.isdir(path):
            recover(path)
            if os.path.exists(os.path.join(path, METADATA_FILE)):
                names.append(entry)
    return names


def resolve(name_or_directory):
    """The directory of a preset given by name or by path.

    Raises:
        PresetError: if it is neither a shipped preset nor a directory.
    """
    path = os.fspath(name_or_directory)
    if os.sep not in path and path in builtin_presets():
        return os.path.join(PRESETS_DIR, path)
    recover(path)
    if os.path.isdir(path):
        return path
    raise PresetError(
        f"Unknown preset: {name_or_directory!r}. It is neither a preset of "
        f"keras_vae ({', '.join(builtin_presets()) or 'none installed'}) "
        "nor a directory. `keras_vae.presets.list_presets()` lists them."
    )


def read_metadata(directory):
    """Reads a preset's `metadata.json`, without checking its files.

    Args:
        directory: str. The preset directory (see `resolve` for names).

    Returns:
        The metadata, a dict: metrics, training command, versions, the
        SHA-256 of every file...

    Raises:
        PresetError: if the directory holds no `metadata.json`.

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
    path = os.path.join(directory, METADATA_FILE)
    if not os.path.exists(path):
        raise PresetError(
            f"{directory!r} is not a preset directory: it has no "
            f"{METADATA_FILE}."
        )
    with open(path) as f:
        return json.load(f)


def verify(directory):
    """Checks every file of a preset against the SHA-256 in its metadata.

    Args:
        directory: str. The preset directory.

    Returns:
        The metadata, a dict.

    Raises:
        PresetError: a file is missing, or has been modified.

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
    metadata = read_metadata(directory)
    checksums = metadata.get("files", {})
    for required in (CONFIG_FILE, WEIGHTS_FILE):
        if required not in checksums:
            raise PresetError(
                f"The metadata of {directory!r} lists no checksum for "
                f"{required}: the preset is incomplete."
            )
    for filename, expected in sorted(checksums.items()):
        path = os.path.join(directory, filename)
        if not os.path.exists(path):
            raise PresetError(f"Preset file missing: {path}")
        actual = sha256_file(path)
        if actual != expected:
            raise PresetError(
                f"Preset file {path} was modified: its SHA-256 is {actual}, "
                f"the preset's metadata says {expected}. Refusing to load "
                "it; reinstall keras_vae or republish the preset."
            )
    return metadata


def load(name_or_directory):
    """Loads a preset's VAE (verified, safe mode) and its metadata."""
    directory = resolve(name_or_directory)
    metadata = verify(directory)
    with open(os.path.join(directory, CONFIG_FILE)) as f:
        config = json.load(f)
    model = keras.saving.deserialize_keras_object(config, safe_mode=True)
    input_shape = tuple(metadata["input_shape"])
    model(np.zeros((1,) + input_shape, "float32"))  # Build every weight.
    model.load_weights(os.path.join(directory, WEIGHTS_FILE))
    return model, metadata


def save(model, directory, metadata=None, images=True, extra_files=None):
    """Writes a preset directory, atomically.

    The files are written to a temporary directory beside `directory` and
    swapped in only when complete: an interrupted save leaves the previous
    version of the preset whole (and `recover` puts it back in place if the
    swap itself was interrupted).

    Args:
        model: a built `keras_vae.VAE`.
        directory: str. The preset directory to (over)write.
        metadata: dict or None. Extra metadata (metrics, training command...).
        images: bool. Also write `samples.png` (64 samples from the prior,
            seed 0) when the data are images (2-d, or 3-d with 1 or 3
            channels).
        extra_files: dict or None. `{filename: writer}` where `writer(path)`
            writes one more file (a reconstructions grid, a model card...).

    Returns:
        `directory`.

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
    with staged_version(directory) as staging:
        with open(os.path.join(staging, CONFIG_FILE), "w") as f:
            json.dump(_model_config(model), f, indent=2)
        _without_optimizer(model).save_weights(
            os.path.join(staging, WEIGHTS_FILE)
        )
        _write_reference(model, os.path.join(staging, REFERENCE_FILE))
        if images and _is_image_shape(model.encoder.input_shape[1:]):
            save_image_grid(
                os.path.join(staging, "samples.png"),
                model.sample(64, seed=0),
                columns=8,
                scale=2,
            )
        for filename, writer in (extra_files or {}).items():
            writer(os.path.join(staging, filename))
        files = {
            name: sha256_file(os.path.join(staging, name))
            for name in sorted(os.listdir(staging))
        }
        input_shape = model.encoder.input_shape[1:]
        full_metadata = {
            "keras_vae_version": __version__,
            "keras_version": keras.__version__,
            "backend": keras.backend.backend(),
            "backend_version": backend_version(),
            "date": datetime.date.today().isoformat(),
            "parameters": int(model.count_params()),
            "input_shape": list(input_shape),
            **(metadata or {}),
            "files": files,
        }
        with open(os.path.join(staging, METADATA_FILE), "w") as f:
            json.dump(full_metadata, f, indent=2)
    return directory


@contextlib.contextmanager
def staged_version(directory, copy=False):
    """A new version of the preset `directory`, swapped in only when whole.

    Yields a temporary directory beside `directory` (empty, or with a copy
    of the current version if `copy`) to write the new version into; when
    the block ends, it replaces `directory` in two renames (`recover` mends
    a stop between them). If the block raises, or the process is
    interrupted, the new version is dropped and the old one stays whole.

    Args:
        directory: str. The preset directory, absolute.
        copy: bool. Start from a copy of the current version.
    """
    parent = os.path.dirname(directory)
    os.makedirs(parent, exist_ok=True)
    recover(directory)
    staging = tempfile.mkdtemp(
        dir=parent, prefix=f".{os.path.basename(directory)}.new-"
    )
    try:
        if copy:
            shutil.copytree(directory, staging, dirs_exist_ok=True)
        yield staging
        os.chmod(staging, 0o755)
        _swap_in(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _is_image_shape(shape):
    """Whether data of this shape (no batch axis) can be drawn as images."""
    return len(shape) == 2 or (len(shape) == 3 and shape[-1] in (1, 3))


def reference_latents(latent_dim):
    """The fixed latent vectors of `reference.npz`: 8 draws, numpy seed 0."""
    rng = np.random.default_rng(0)
    return rng.standard_normal((8, latent_dim)).astype("float32")


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
    decoded = model.decode(z) if decoded is None else decoded
    mean, log_var = model.encode(decoded)
    return {"z": z, "decoded": decoded, "mean": mean, "log_var": log_var}


def _write_reference(model, path):
    z = reference_latents(model.latent_dim)
    with open(path, "wb") as f:
        np.savez(f, **reference_outputs(model, z))


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
    copy(np.zeros((1,) + tuple(model.encoder.input_shape[1:]), "float32"))
    for source, target in zip(model.weights, copy.weights, strict=True):
        target.assign(source)
    return copy


def _swap_in(staging, directory):
    backup = None
    if os.path.exists(directory):
        backup = tempfile.mkdtemp(
            dir=os.path.dirname(directory),
            prefix=f".{os.path.basename(directory)}.old-",
        )
        os.rmdir(backup)
        os.replace(directory, backup)
    os.replace(staging, directory)
    if backup is not None:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(backup)
