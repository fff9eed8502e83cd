"""The keras_vae data cache: location, entry stamp, verification.

A dataset lives in `<cache>/datasets/<name>/`, holding the four decoded IDX
files and a stamp, `keras_vae_dataset.json`. `fetch` assembles an entry in a
scratch directory next to it and moves it into place with one `os.replace`,
so an entry either exists complete (stamp included) or not at all. Loading
requires the stamp and checks the SHA-256 of every file it reads.
"""

import hashlib
import json
import os
import pathlib

CACHE_DIR_ENV = "KERAS_VAE_CACHE_DIR"
"""Environment variable naming the cache root (default `~/.cache/keras_vae`)."""

DEFAULT_CACHE_DIR = "~/.cache/keras_vae"

STAMP_NAME = "keras_vae_dataset.json"

STAMP_FORMAT = 1

_CHUNK = 1 << 20


def get_cache_dir(cache_dir=None):
    """Returns the root of the keras_vae data cache.

    Args:
        cache_dir: str, path-like or `None`. An explicit root. Defaults to
            `None`: the environment variable `KERAS_VAE_CACHE_DIR` when set
            and non-empty, else `~/.cache/keras_vae`.

    Returns:
        The root as an absolute `pathlib.Path` (it may not exist yet).
        Datasets live in `<root>/datasets/<name>/`.

    Example:

    ```python
    import keras_vae.datasets

    keras_vae.datasets.get_cache_dir()  # e.g. ~/.cache/keras_vae
    ```
    """
    if cache_dir is None:
        cache_dir = os.environ.get(CACHE_DIR_ENV) or DEFAULT_CACHE_DIR
    return pathlib.Path(cache_dir).expanduser().absolute()


def entry_dir(name, cache_dir=None):
    """Returns the cache directory of dataset `name`."""
    return get_cache_dir(cache_dir) / "datasets" / name


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_stamp(directory, spec, source):
    """Writes the stamp of a verified entry being assembled in `directory`."""
    files = {}
    for filename, sha256 in spec.files.items():
        size = os.path.getsize(os.path.join(directory, filename))
        files[filename] = {"sha256": sha256, "size": size}
    stamp = {
        "format": STAMP_FORMAT,
        "name": spec.name,
        "source": source,
        "files": files,
    }
    path = os.path.join(directory, STAMP_NAME)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(stamp, f, indent=2, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())


def check_stamp(directory, spec):
    """Checks an entry's stamp against `spec` without hashing the files.

    Returns:
        `None` if the stamp is present and matches `spec` (name, pinned
        checksums and file sizes), else a short reason.
    """
    directory = pathlib.Path(directory)
    if not directory.is_dir():
        return f"{directory} does not exist"
    path = directory / STAMP_NAME
    try:
        stamp = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"{directory} has no {STAMP_NAME} (incomplete entry)"
    except (OSError, ValueError) as e:
        return f"unreadable {path}: {e}"
    if not isinstance(stamp, dict) or stamp.get("name") != spec.name:
        return f"{path} does not describe {spec.name!r}"
    files = stamp.get("files")
    if not isinstance(files, dict):
        return f"{path} lists no files"
    for filename, sha256 in spec.files.items():
        info = files.get(filename)
        if not isinstance(info, dict) or info.get("sha256") != sha256:
            return f"{path} was written for other checksums (stale entry)"
        file_path = directory / filename
        try:
            size = file_path.stat().st_size
        except FileNotFoundError:
            return f"{file_path} is missing"
        if size != info.get("size"):
            return f"{file_path} has {size} bytes, not {info.get('size')}"
    return None


def verify_entry(directory, spec):
    """Fully verifies a cache entry: stamp plus SHA-256 of every file.

    Returns:
        `None` if the entry is complete and every file matches its pinned
        SHA-256, else a short reason.
    """
    reason = check_stamp(directory, spec)
    if reason is not None:
        return reason
    for filename, expected in spec.files.items():
        path = pathlib.Path(directory) / filename
        actual = sha256_file(path)
        if actual != expected:
            return (
                f"SHA-256 mismatch for {path}: expected {expected}, got "
                f"{actual}"
            )
    return None
