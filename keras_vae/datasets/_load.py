"""`load`: find a dataset in the documented sources and decode it."""

import dataclasses
import importlib.util
import logging
import os
import pathlib
import re

import numpy as np

from keras_vae.datasets import _cache
from keras_vae.datasets import _idx
from keras_vae.datasets import _registry
from keras_vae.datasets._errors import ChecksumError
from keras_vae.datasets._errors import DatasetNotFoundError

logger = logging.getLogger("keras_vae.datasets")

DATA_DIR_ENV = "KERAS_VAE_DATA_DIR"
"""Environment variable naming a directory of IDX files (source 1)."""

_SLICE = re.compile(r"^(train|test)\[(-?\d*):(-?\d*)\]$")


def fetch_command(name):
    """Returns the shell command that fetches dataset `name` into the cache."""
    return f"python -m keras_vae.datasets fetch {name}"


@dataclasses.dataclass(frozen=True)
class _Split:
    part: str
    start: object
    stop: object
    tfds_split: str


def _parse_split(spec, split):
    """Maps a split name or slice to a part of the files and a range."""
    if split in ("train", "test"):
        return _Split(split, None, None, split)
    if split == "validation" or split == "train_without_validation":
        boundary = spec.num_train - spec.num_validation
        if split == "validation":
            return _Split("train", boundary, None, f"train[{boundary}:]")
        return _Split("train", None, boundary, f"train[:{boundary}]")
    match = _SLICE.match(split) if isinstance(split, str) else None
    if match is None:
        raise ValueError(
            f"`split` must be one of {list(_registry.SPLITS)} or a slice "
            "such as 'train[:1000]' or 'test[-500:]'. Received: "
            f"split={split!r}"
        )
    part, start, stop = match.groups()
    start = int(start) if start else None
    stop = int(stop) if stop else None
    return _Split(part, start, stop, split)


def _user_data_dir(data_dir):
    """Returns (directory or None, how it was given)."""
    if data_dir is not None:
        return pathlib.Path(data_dir).expanduser(), "data_dir argument"
    from_env = os.environ.get(DATA_DIR_ENV)
    if from_env:
        return pathlib.Path(from_env).expanduser(), f"${DATA_DIR_ENV}"
    return None, None


def _locate_user_files(root, spec, part):
    """Finds a part's files in `root/<name>/` or `root/`, raw or gzipped."""
    filenames = _registry.PARTS[part]
    if not root.is_dir():
        return None, f"{root} is not a directory"
    for directory in (root / spec.name, root):
        found = {}
        for filename in filenames:
            for candidate in (
                directory / filename,
                directory / (filename + ".gz"),
            ):
                if candidate.is_file():
                    found[filename] = candidate
                    break
        if len(found) == len(filenames):
            return found, None
    wanted = " and ".join(f"{filename}[.gz]" for filename in filenames)
    return None, f"no {wanted} in {root / spec.name} or {root}"


def _read_verified(path, spec, filename, expected_magic, hint):
    try:
        data = _idx.read_decoded(path)
        array = _idx.parse_idx(
            data, expected_magic=expected_magic, source=os.fspath(path)
        )
    except _idx.IdxFormatError as e:
        raise _idx.IdxFormatError(f"{e} {hint}") from e
    expected = spec.files[filename]
    actual = _cache.sha256_bytes(data)
    if actual != expected:
        raise ChecksumError(
            f"SHA-256 mismatch for {path} (decoded): expected {expected}, "
            f"got {actual}; it is not the original {spec.name} {filename} "
            f"file. {hint}"
        )
    return array


def _read_part(paths, spec, part, hint):
    """Reads and verifies one part; returns uint8 images and int64 labels."""
    images_file, labels_file = _registry.PARTS[part]
    images = _read_verified(
        paths[images_file], spec, images_file, _idx.IMAGES_MAGIC, hint
    )
    labels = _read_verified(
        paths[labels_file], spec, labels_file, _idx.LABELS_MAGIC, hint
    )
    count = spec.num_train if part == "train" else spec.num_test
    if images.shape != (count,) + tuple(spec.image_shape) or labels.shape != (
        count,
    ):
        raise _idx.IdxFormatError(
            f"{spec.name} {part} files hold images of shape {images.shape} "
            f"and labels of shape {labels.shape}; expected "
            f"{(count,) + tuple(spec.image_shape)} and {(count,)}. {hint}"
        )
    return images[..., None], labels


def _load_tfds(spec, split):
    """Returns ((images, labels), None) or (None, why it failed)."""
    if importlib.util.find_spec("tensorflow_datasets") is None:
        return None, "tensorflow-datasets is not installed"
    call = (
        f"tfds.load({spec.tfds_name!r}, split={split.tfds_split!r}, "
        "download=False)"
    )
    try:
        import tensorflow_datasets as tfds

        dataset = tfds.load(
            spec.tfds_name,
            split=split.tfds_split,
            as_supervised=True,
            download=False,
            shuffle_files=False,
        )
        images = []
        labels = []
        for x, y in tfds.as_numpy(dataset.batch(10_000)):
            images.append(x)
            labels.append(y)
    except ImportError as e:
        return None, f"tensorflow-datasets cannot be imported ({e})"
    except Exception as e:  # tfds raises many types; report, do not crash.
        lines = str(e).strip().splitlines()
        message = lines[0] if lines else type(e).__name__
        return None, f"{call} failed: {message}"
    shape = (0,) + tuple(spec.image_shape) + (1,)
    images = np.concatenate(images) if images else np.zeros(shape, np.uint8)
    labels = np.concatenate(labels) if labels else np.zeros((0,), np.int64)
    images = images.reshape((-1,) + tuple(spec.image_shape) + (1,))
    return (images.astype(np.uint8), labels.astype(np.int64)), None


def load_uint8(name, split="train", *, data_dir=None):
    """Like `load`, but returns uint8 pixels and the source used.

    Returns:
        A tuple `(images, labels, source)`: uint8 images of shape
        `(N, 28, 28, 1)`, int64 labels of shape `(N,)`, and a string naming
        the source the data came from.
    """
    spec = _registry.get_spec(name)
    parsed = _parse_split(spec, split)
    fix = fetch_command(spec.name)
    tried = []

    root, origin = _user_data_dir(data_dir)
    if root is None:
        tried.append(
            "data directory: none given (pass `data_dir=` or set "
            f"${DATA_DIR_ENV})"
        )
    else:
        paths, reason = _locate_user_files(root, spec, parsed.part)
        if paths is None:
            tried.append(f"data directory ({origin}): {reason}")
        else:
            hint = (
                f"Replace the file in {root} ({origin}) with the original, "
                f"or remove it and run `{fix}`."
            )
            images, labels = _read_part(paths, spec, parsed.part, hint)
            source = f"{paths[_registry.PARTS[parsed.part][0]].parent}"
            return _finish(images, labels, parsed, source)

    entry = _cache.entry_dir(spec.name)
    reason = _cache.check_stamp(entry, spec)
    if reason is None:
        paths = {filename: entry / filename for filename in spec.files}
        hint = f"The cached copy is corrupt: run `{fix}` to fetch it again."
        images, labels = _read_part(paths, spec, parsed.part, hint)
        return _finish(images, labels, parsed, f"{entry}")
    tried.append(f"keras_vae cache: {reason}")

    result, reason = _load_tfds(spec, parsed)
    if result is not None:
        images, labels = result
        logger.info("Loaded %s %s from tensorflow-datasets.", name, split)
        return images, labels, "tensorflow-datasets"
    tried.append(f"tensorflow-datasets: {reason}")

    lines = "\n".join(f"  {i}. {line}" for i, line in enumerate(tried, 1))
    raise DatasetNotFoundError(
        f"Could not load dataset {spec.name!r} (split {split!r}). Tried, in "
        f"this order:\n{lines}\nTo fix this, run:\n    {fix}\nIt downloads "
        f"the original files from the {spec.upstream.describe()}, checks "
        "their SHA-256 and caches them."
    )


def _finish(images, labels, split, source):
    images = images[split.start : split.stop]
    labels = labels[split.start : split.stop]
    logger.info("Loaded %s images from %s.", len(images), source)
    return images, labels.astype(np.int64), source


def load(name, split="train", *, data_dir=None):
    """Loads MNIST or Fashion-MNIST as numpy arrays.

    Sources are tried in this order; the first that has the data wins:

    1. A directory you name: the `data_dir` argument or, when it is `None`,
       the environment variable `KERAS_VAE_DATA_DIR`. It holds the four
       standard IDX files (`train-images-idx3-ubyte`,
       `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`,
       `t10k-labels-idx1-ubyte`), raw or gzipped (`.gz`), either in
       `<dir>/<name>/` or directly in `<dir>/`.
    2. The keras_vae cache, `<cache>/datasets/<name>/`, where `<cache>` is
       `$KERAS_VAE_CACHE_DIR` or `~/.cache/keras_vae`; filled by
       `python -m keras_vae.datasets fetch <name>`.
    3. tensorflow-datasets, when installed and its data is already prepared:
       `tfds.load(name, split=..., download=False)`. Its examples come in
       tfds's own (shuffled) order, so its `"validation"` split
       (`"train[50000:]"`) is a different set of 10,000 training images
       than sources 1 and 2 give.

    Files from sources 1 and 2 are checked against the pinned SHA-256 of the
    original files: a mismatch raises `ChecksumError` rather than falling
    through to the next source. When every source fails,
    `DatasetNotFoundError` lists what was tried and the command that fixes
    it: `python -m keras_vae.datasets fetch <name>`.

    Splits: `"train"` (60,000 images), `"test"` (10,000), `"validation"`
    (the last 10,000 training images, 50,000-59,999) and
    `"train_without_validation"` (the first 50,000). Slices of a part,
    `"train[a:b]"` or `"test[a:b]"` with Python slice semantics, work too.

    Args:
        name: str. `"mnist"` or `"fashion_mnist"`.
        split: str. A split, see above. Defaults to `"train"`.
        data_dir: str, path-like or `None`. A directory of IDX files to try
            first. Defaults to `None`: `$KERAS_VAE_DATA_DIR` if set.

    Returns:
        A tuple `(images, labels)`: float32 images of shape `(N, 28, 28, 1)`
        with values `pixel / 255` in [0, 1], and int64 labels of shape
        `(N,)` with values 0 to 9, in the order of the original files.

    Raises:
        ValueError: If `name` or `split` is unknown.
        DatasetNotFoundError: If no source has the data.
        ChecksumError: If a file found does not match its pinned SHA-256.
        IdxFormatError: If a file found is not a well-formed IDX file.

    Example:

    ```python
    import keras_vae.datasets

    x_train, y_train = keras_vae.datasets.load("mnist", split="train")
    x_train.shape  # (60000, 28, 28, 1)
    ```
    """
    images, labels, _ = load_uint8(name, split, data_dir=data_dir)
    return np.divide(images, 255, dtype=np.float32), labels


def source_report(name, *, data_dir=None):
    """Describes, for each source in order, whether it has dataset `name`.

    Verifies the cache entry in full (SHA-256 of every file). Does not
    import tensorflow-datasets.

    Returns:
        A list of `(source, status)` string pairs.
    """
    spec = _registry.get_spec(name)
    report = []
    root, origin = _user_data_dir(data_dir)
    if root is None:
        report.append(("data directory", f"none given (${DATA_DIR_ENV})"))
    else:
        statuses = []
        for part in _registry.PARTS:
            paths, reason = _locate_user_files(root, spec, part)
            statuses.append(
                f"{part}: {reason}"
                if paths is None
                else f"{part}: {paths[_registry.PARTS[part][0]].parent}"
            )
        report.append((f"data directory ({origin})", "; ".join(statuses)))
    entry = _cache.entry_dir(spec.name)
    reason = _cache.verify_entry(entry, spec)
    report.append(
        ("keras_vae cache", f"verified, {entry}" if reason is None else reason)
    )
    installed = importlib.util.find_spec("tensorflow_datasets") is not None
    report.append(
        (
            "tensorflow-datasets",
            "installed (used only if its data is prepared)"
            if installed
            else "not installed",
        )
    )
    return report
