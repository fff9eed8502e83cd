"""Atomic file writes: a reader never sees a half-written file.

A write goes to a temporary file beside its target, named
`.<target>.<pid>-<8 hex digits>.tmp` (the pid of the writing process), and
is renamed onto the target once complete and synced. A writer killed with
SIGKILL leaves its temporary file behind; the next atomic write of the same
target removes the temporary files of that target whose writer is no
longer alive. Nothing else is ever removed: a file is recognised only by
its exact name (this target's, a pid, 8 lowercase hex digits) and only if
it is a regular file.
"""

import contextlib
import ctypes
import errno
import hashlib
import os
import re
import secrets
import stat
import sys

_NAME_MAX = 255  # Bytes in a file name, on the usual file systems.


def pid_alive(pid):
    """Whether process `pid` exists (this process counts as alive).

    Args:
        pid: int. A process id.

    Returns:
        bool. False only when no process `pid` exists; a process of another
        user counts as alive.
    """
    if pid == os.getpid():
        return True
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OverflowError:
        return False
    return True


_RENAME_EXCHANGE = 2  # renameat2's flag, <linux/fs.h>.
_AT_FDCWD = -100


def exchange(a, b):
    """Swaps the paths `a` and `b` in one atomic step, where possible.

    With Linux's `renameat2(RENAME_EXCHANGE)`: at every instant each path
    names one of the two files (or directories), never neither. Used to put
    a new version of a directory in place of the old one.

    Args:
        a: str or path-like. An existing path.
        b: str or path-like. An existing path on the same file system.

    Returns:
        bool. True once swapped; False where the system or the file system
        cannot exchange paths (then nothing was changed).

    Raises:
        OSError: The exchange failed for another reason (naming `b`).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    renameat2.restype = ctypes.c_int
    result = renameat2(
        _AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE
    )
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(code, os.strerror(code), os.fspath(b))


def _temporary_stem(base):
    """`.<base>`, shortened (with a hash of `base`) so that a temporary
    name stays within the file system's limit on name lengths."""
    stem = "." + base
    # Room for ".<pid>-<8 hex>.tmp" and an extension of the target.
    room = _NAME_MAX - 40 - len(os.fsencode(os.path.splitext(base)[1]))
    if len(os.fsencode(stem)) <= room:
        return stem
    digest = hashlib.sha256(os.fsencode(base)).hexdigest()[:8]
    while len(os.fsencode(stem)) > room - 9:
        stem = stem[:-1]
    return f"{stem}~{digest}"


def _temporary_pattern(base):
    """The exact names of the temporary files of target `base`."""
    extension = re.escape(os.path.splitext(base)[1])
    return re.compile(
        re.escape(_temporary_stem(base))
        + r"\.([1-9][0-9]{0,9})-[0-9a-f]{8}\.tmp"
        + f"(?:{extension})?"
    )


def remove_stale_temporaries(path):
    """Removes the temporary files of dead atomic writes of `path`.

    Only regular files whose name is exactly that of a temporary file of
    `path` (see the module's docstring) and whose writer is no longer alive
    are removed; anything else in the directory is left alone.

    Args:
        path: str or path-like. The target of the atomic writes.

    Returns:
        The list of the paths removed.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    pattern = _temporary_pattern(os.path.basename(path))
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        match = pattern.fullmatch(name)
        if match is None or pid_alive(int(match.group(1))):
            continue
        candidate = os.path.join(directory, name)
        try:
            if not stat.S_ISREG(os.lstat(candidate).st_mode):
                continue
            os.remove(candidate)
        except OSError:
            continue
        removed.append(candidate)
    return removed


def current_umask():
    """The process's umask, read without changing it where the system
    tells it (Linux's /proc/self/status): `os.umask` can only read it by
    setting it, which other threads creating files at that moment see."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def fsync_directory(directory):
    """Flushes a directory's entries (renames, creations) to disk, where
    the system allows."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _naming_target(error, path, temporary):
    """`error`, or the same error naming `path` where it named `temporary`
    or nothing (a full disk, say): the user knows `path`, not ours."""
    if (
        isinstance(error, OSError)
        and error.errno is not None
        and error.filename in (None, temporary)
    ):
        renamed = type(error)(error.errno, error.strerror, path)
        renamed.__cause__ = error
        return renamed
    return error


@contextlib.contextmanager
def atomic_path(path, keep_extension=False):
    """A temporary path beside `path`, renamed onto it on success.

    For writers that need a file name rather than an open file (`model.save`
    for instance): write the file at the yielded path; when the block ends
    without error the file is synced and renamed onto `path`. If the block
    raises, the temporary file is removed and `path` keeps its previous
    content (or stays absent). Temporary files of dead writers of `path`
    are removed first (see the module's docstring).

    Args:
        path: str or path-like. The file to write.
        keep_extension: bool. End the temporary name with the extension of
            `path` too (`model.save` wants `.keras`). Default False.

    Yields:
        str. The temporary path; it exists (empty) when the block starts.

    Raises:
        FileNotFoundError: The directory of `path` does not exist.
        OSError: The file could not be written; the error names `path`.

    Example:

    ```python
    from keras_vae.utils.files import atomic_path

    with atomic_path("example.txt") as temporary:
        with open(temporary, "w") as f:
            f.write("all or nothing")
    ```
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            errno.ENOENT, f"the directory {directory!r} does not exist", path
        )
    base = os.path.basename(path)
    remove_stale_temporaries(path)
    extension = os.path.splitext(base)[1] if keep_extension else ""
    stem = _temporary_stem(base)
    temporary = None
    try:
        while temporary is None:
            name = f"{stem}.{os.getpid()}-{secrets.token_hex(4)}.tmp"
            candidate = os.path.join(directory, name + extension)
            try:
                fd = os.open(
                    candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600
                )
            except FileExistsError:
                continue
            os.close(fd)
            temporary = candidate
        yield temporary
        fd = os.open(temporary, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        # The mode `open` would have given a new file, or the replaced
        # file's own.
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)
        except OSError:
            mode = 0o666 & ~current_umask()
        os.chmod(temporary, mode)
        os.replace(temporary, path)
        fsync_directory(directory)
    except BaseException as e:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.remove(temporary)
        renamed = _naming_target(e, path, temporary)
        if renamed is e:
            raise
        raise renamed from e


@contextlib.contextmanager
def atomic_write(path, mode="wb"):
    """Opens a temporary file next to `path`, renamed onto it on success.

    If the block raises, the temporary file is removed and `path` keeps its
    previous content (or stays absent). A writer killed outright (SIGKILL)
    leaves its temporary file, which the next atomic write of `path`
    removes (see `keras_vae.utils.files`).

    Args:
        path: str or path-like. The file to write.
        mode: str. `"wb"` (default) or `"w"`.

    Yields:
        The open temporary file.

    Raises:
        FileNotFoundError: The directory of `path` does not exist.
        OSError: The file could not be written; the error names `path`,
            never the temporary file.

    Example:

    ```python
    from keras_vae.utils import atomic_write

    with atomic_write("example.txt", "w") as f:
        f.write("all or nothing")
    ```
    """
    path = os.fspath(path)
    with atomic_path(path) as temporary:
        try:
            with open(temporary, mode) as f:
                yield f
                f.flush()
        except BaseException as e:
            renamed = _naming_target(e, path, temporary)
            if renamed is e:
                raise
            raise renamed from e
