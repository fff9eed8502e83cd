"""Test helpers: small fake datasets standing in for MNIST-like data.

Used by `tests/datasets/`. A fake dataset is a few random 28x28 images in
the four standard IDX files, registered under a real dataset name with its
own checksums, so every code path (sources, fetch, pipeline) runs on it in
milliseconds.
"""

import dataclasses
import gzip
import os
import signal

import numpy as np

from keras_vae.datasets import _cache
from keras_vae.datasets import _idx
from keras_vae.datasets import _registry


def make_arrays(num_train=12, num_test=5, seed=0):
    """Returns standard IDX file name -> uint8 array of a fake dataset.

    Images mix exact 0 and 255 pixels with intermediate grey levels, like
    MNIST; labels cycle through 0-9 (shifted by `seed`).
    """
    rng = np.random.default_rng(seed)

    def images(count):
        grey = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
        mask = rng.random((count, 28, 28))
        grey[mask < 0.5] = 0
        grey[mask > 0.85] = 255
        return grey

    def labels(count):
        return ((np.arange(count) + seed) % 10).astype(np.uint8)

    return {
        _registry.TRAIN_IMAGES: images(num_train),
        _registry.TRAIN_LABELS: labels(num_train),
        _registry.TEST_IMAGES: images(num_test),
        _registry.TEST_LABELS: labels(num_test),
    }


def write_files(directory, arrays, *, compress=False):
    """Writes the arrays as IDX files (`.gz` added when compressed)."""
    os.makedirs(directory, exist_ok=True)
    paths = {}
    for filename, array in arrays.items():
        path = os.path.join(directory, filename + (".gz" if compress else ""))
        _idx.write_idx(path, array, compress=compress)
        paths[filename] = path
    return paths


class FakeUpstream:
    """An upstream that writes the fake files instead of downloading.

    Args:
        arrays: dict. File name -> array, from `make_arrays`.
        compress: bool. Whether to ship the files gzipped.
        corrupt: str or `None`. A file name whose shipped content gets one
            byte flipped (a checksum mismatch).
        fail_after: int or `None`. Raise `RuntimeError` after writing this
            many files (an interrupted download).
        kill_after: int or `None`. Kill the whole process with SIGKILL after
            writing this many files (a crash; for subprocess tests).
        omit: str or `None`. A file name not to ship at all.
    """

    def __init__(
        self,
        arrays,
        *,
        compress=False,
        corrupt=None,
        fail_after=None,
        kill_after=None,
        omit=None,
    ):
        self.arrays = arrays
        self.compress = compress
        self.corrupt = corrupt
        self.fail_after = fail_after
        self.kill_after = kill_after
        self.omit = omit
        self.calls = 0

    def describe(self):
        return "fake upstream (test data)"

    def retrieve(self, workdir, filenames, *, log, apt_update=True):
        self.calls += 1
        paths = {}
        for i, filename in enumerate(filenames):
            if i == self.fail_after:
                raise RuntimeError("simulated failure during the download")
            if i == self.kill_after:
                os.kill(os.getpid(), signal.SIGKILL)
            if filename == self.omit:
                continue
            data = _idx.encode_idx(self.arrays[filename])
            if filename == self.corrupt:
                data = data[:-1] + bytes([data[-1] ^ 0xFF])
            if self.compress:
                data = gzip.compress(data, mtime=0)
            path = os.path.join(
                workdir, filename + (".gz" if self.compress else "")
            )
            with open(path, "wb") as f:
                f.write(data)
            paths[filename] = path
        return paths


def make_spec(name, arrays, *, num_validation=3, upstream=None):
    """Returns a `DatasetSpec` for fake `arrays` under a real name."""
    files = {
        filename: _cache.sha256_bytes(_idx.encode_idx(array))
        for filename, array in arrays.items()
    }
    return dataclasses.replace(
        _registry.get_spec(name),
        files=files,
        num_train=len(arrays[_registry.TRAIN_IMAGES]),
        num_test=len(arrays[_registry.TEST_IMAGES]),
        num_validation=num_validation,
        upstream=upstream if upstream is not None else FakeUpstream(arrays),
    )


def install_fake_dataset(
    monkeypatch,
    cache_dir,
    name="mnist",
    *,
    num_train=12,
    num_test=5,
    num_validation=3,
    seed=0,
    fetch=True,
    upstream=None,
):
    """Registers a fake dataset and points the cache at `cache_dir`.

    Also unsets `KERAS_VAE_DATA_DIR` so that only the cache (and
    tensorflow-datasets) are sources.

    Args:
        monkeypatch: the pytest fixture; everything is undone after the test.
        cache_dir: the cache root to use (usually under `tmp_path`).
        name: the dataset name to replace. Defaults to `"mnist"`.
        num_train, num_test, num_validation: sizes of the fake data.
        seed: seed of the fake data.
        fetch: whether to fetch it into the cache right away.
        upstream: the upstream of the spec. Defaults to a `FakeUpstream`.

    Returns:
        A tuple `(spec, arrays)`.
    """
    arrays = make_arrays(num_train, num_test, seed=seed)
    spec = make_spec(
        name, arrays, num_validation=num_validation, upstream=upstream
    )
    monkeypatch.setitem(_registry.DATASETS, name, spec)
    monkeypatch.setenv(_cache.CACHE_DIR_ENV, os.fspath(cache_dir))
    monkeypatch.delenv("KERAS_VAE_DATA_DIR", raising=False)
    if fetch:
        from keras_vae.datasets import _fetch

        _fetch.fetch(name, verbose=False)
    return spec, arrays
