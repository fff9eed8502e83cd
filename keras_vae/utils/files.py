"""Atomic file writes: a reader never sees a half-written file."""

import contextlib
import os
import tempfile


@contextlib.contextmanager
def atomic_write(path, mode="wb"):
    """Opens a temporary file next to `path`, renamed onto it on success.

    If the block raises, the temporary file is removed and `path` keeps its
    previous content (or stays absent).

    Args:
        path: str or path-like. The file to write.
        mode: str. `"wb"` (default) or `"w"`.

    Yields:
        The open temporary file.

    Example:

    ```python
    from keras_vae.utils import atomic_write

    with atomic_write("example.txt", "w") as f:
        f.write("all or nothing")
    ```
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"Cannot write {path!r}: the directory {directory!r} does not "
            "exist."
        )
    handle, temporary = tempfile.mkstemp(
        dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp"
    )
    try:
        with os.fdopen(handle, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # As `open` would have made it.
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise
