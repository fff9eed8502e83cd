"""Loading Keras files that may be damaged or crafted: errors that name
the file.

A truncated `.keras` file makes Keras say "File not found" about a file
that exists, and a damaged `.h5` file gives h5py's message alone, naming
nothing. These helpers check a file first and raise one error, of the
caller's class, that names the file and says what is wrong with it, with
what to do about it:

- damage: the CRC of every member of a `.keras` zip archive (streamed),
  and that an `.h5` file (or the `.h5` member of a `.keras` archive)
  opens and its structure can be walked;
- what a crafted file uses to make a loader read other files or allocate
  unbounded memory, refused before Keras opens the file: HDF5 soft and
  external links, datasets with external storage, virtual datasets,
  datasets of types Keras never writes (strings, references,
  variable-length, compound), datasets that together declare more bytes
  than the bound, and `.keras` members that declare more bytes
  uncompressed than the bound.

No dataset is ever read by the check: only the structure is walked. The
bound, `max_bytes`, is by default `2 * size + 1 MiB` for a file of `size`
bytes: Keras writes weights uncompressed and contiguous, so what an honest
file declares is at most its own size (the `.h5` member of a `.keras`
archive is bounded by its own size).

    load_model_or_raise(path, error_cls=ValueError, hint=None,
                        max_bytes=None, **kwargs)
    load_weights_or_raise(model, path, error_cls=ValueError, hint=None,
                          max_bytes=None)
    check_keras_file(path, error_cls=ValueError, hint=None, max_bytes=None)
"""

import contextlib
import io
import json
import math
import os
import stat
import tempfile
import zipfile
import zlib

_EXCERPT = 200  # Characters of a low-level message quoted in an error.

# The default bound on the bytes a file may declare (its datasets' total
# size for an `.h5` file, its members' total uncompressed size for a
# `.keras` archive): `_EXPANSION * size + _SLACK` for a file of `size`
# bytes. Keras writes weights uncompressed and contiguous, and `.keras`
# members stored: an honest file declares at most its own size (measured:
# 0.99x for the shipped presets, 0.99x for a `.keras` archive's members).
_EXPANSION = 2
_SLACK = 1 << 20

_CHUNK = 1 << 20  # Bytes copied at a time from a zip member.

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

# What loading a file that passed the check may still raise on odd
# content; reported as one error naming the file, not a traceback.
_ODD = (MemoryError, TypeError, RuntimeError)


class _RefusedError(Exception):
    """A file the check refuses: not damage, but something only a crafted
    file holds (the message says what)."""


class _ScratchError(Exception):
    """The temporary copy a check needs cannot be made (no room left...):
    not the file's fault."""


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


def _refused(error_cls, path, reason, hint):
    return _error(
        error_cls,
        f"{path} is refused: {reason}; Keras never writes such a file, so it "
        "was not loaded.",
        hint,
    )


def _limit(max_bytes, size):
    """The most bytes a file of `size` bytes may declare."""
    if max_bytes is not None:
        return max_bytes
    return _EXPANSION * size + _SLACK


def _keras_zip_problem(path, max_bytes=None):
    """Why the `.keras` archive at `path` is damaged, or None.

    Raises:
        _RefusedError: the archive declares more bytes than the bound, or
            an `.h5` member in it is refused by `_h5_problem`.
        _ScratchError: the temporary copy of an `.h5` member cannot be
            written.
    """
    if not zipfile.is_zipfile(path):
        return "not a complete zip archive"
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            # Before anything is decompressed: what the members declare
            # bounds what reading them can produce (zipfile stops at each
            # member's declared size).
            declared = sum(member.file_size for member in members)
            limit = _limit(max_bytes, os.path.getsize(path))
            if declared > limit:
                raise _RefusedError(
                    f"its members declare {declared} bytes uncompressed, "
                    f"more than the {limit} bytes allowed for a file of its "
                    "size (Keras stores members uncompressed)"
                )
            bad = archive.testzip()  # Streams every member, checks its CRC.
            if bad is not None:
                return f"the CRC of its member {bad!r} does not match"
            names = [member.filename for member in members]
            if "config.json" not in names:
                return "it holds no config.json"
            json.loads(archive.read("config.json"))
            for member in members:
                if not member.filename.endswith(".h5"):
                    continue
                name = _excerpt(repr(member.filename))
                try:
                    problem = _h5_member_problem(archive, member, max_bytes)
                except _RefusedError as e:
                    raise _RefusedError(f"its member {name}: {e}") from None
                if problem is not None:
                    return f"its member {name}: {problem}"
    except (
        zipfile.BadZipFile,
        zlib.error,
        OSError,
        EOFError,
        ValueError,
        RuntimeError,  # An encrypted member.
        NotImplementedError,  # A compression method zipfile lacks.
    ) as e:
        return _excerpt(e)
    return None


def _h5_member_problem(archive, member, max_bytes):
    """`_h5_problem` of a member of a zip archive, streamed to a private
    temporary file (HDF5 seeks all over a file; a zip member can only be
    read forward) that is removed afterwards."""
    try:
        scratch = tempfile.TemporaryDirectory(prefix="keras_vae-check-")
    except OSError as e:
        raise _ScratchError(_excerpt(e)) from None
    with scratch:
        copy = os.path.join(scratch.name, "member.h5")
        with archive.open(member) as source:
            try:
                with open(copy, "wb") as target:
                    while chunk := source.read(_CHUNK):
                        target.write(chunk)
            except OSError as e:  # E.g. no room left.
                raise _ScratchError(_excerpt(e)) from None
        return _h5_problem(copy, max_bytes)


def _name(name):
    return _excerpt(repr(name))


def _plain_dtype(dtype):
    """Whether `dtype` is one Keras writes weights in: booleans, integers,
    floats, or a fixed-size opaque type (how h5py stores bfloat16 and the
    float8 types); not strings, references, variable-length, compound or
    array types, whose reads are not bounded by their declared size."""
    if dtype.hasobject or dtype.subdtype is not None or dtype.names:
        return False
    return dtype.kind in "biufc" or dtype.kind == "V"


def _h5_problem(source, max_bytes=None):
    """Why the HDF5 file `source` (a path or a file object) is damaged.

    Walks its structure only, reading no dataset.

    Raises:
        _RefusedError: it holds a soft or external link, a dataset with
            external storage, a virtual dataset, a dataset of a type Keras
            does not write, an object that is neither a group nor a
            dataset, or datasets that declare more bytes than the bound.
    """
    import h5py

    if max_bytes is None:
        if isinstance(source, (str, bytes, os.PathLike)):
            size = os.path.getsize(source)
        else:
            size = source.seek(0, io.SEEK_END)
            source.seek(0)
        limit = _limit(None, size)
    else:
        limit = max_bytes
    declared = 0

    def check_links(prefix, group):
        # Iterating a group lists its links' names, resolving none of them.
        for name in group:
            link = group.get(name, getlink=True)
            if not isinstance(link, h5py.HardLink):
                kind = {
                    h5py.SoftLink: "soft link",
                    h5py.ExternalLink: "external link (to another file)",
                }.get(type(link), f"link of type {type(link).__name__}")
                raise _RefusedError(f"it holds a {kind} {_name(prefix + name)}")

    def check(name, item):
        nonlocal declared
        if isinstance(item, h5py.Group):
            check_links(f"/{name}/", item)
            return None
        if not isinstance(item, h5py.Dataset):
            raise _RefusedError(
                f"it holds a {type(item).__name__} {_name(name)}, neither a "
                "group nor a dataset"
            )
        if item.is_virtual:
            raise _RefusedError(
                f"its dataset {_name(name)} is virtual (maps other datasets, "
                "possibly in other files)"
            )
        if item.external:
            raise _RefusedError(
                f"its dataset {_name(name)} has external storage (reads "
                "other files)"
            )
        if not _plain_dtype(item.dtype):
            raise _RefusedError(
                f"its dataset {_name(name)} is of type {item.dtype}, not a "
                "numeric type of Keras weights"
            )
        shape = item.shape  # None for a dataset with no dataspace.
        # math.prod of Python ints: no overflow, whatever the shape.
        count = 0 if shape is None else math.prod(shape)
        declared += count * item.dtype.itemsize
        if declared > limit:
            raise _RefusedError(
                f"its datasets declare at least {declared} bytes (at "
                f"{_name(name)}), more than the {limit} bytes allowed for "
                "a file of its size"
            )
        return None

    try:
        with h5py.File(source, "r") as f:
            check_links("/", f)
            # Visits every object reachable by hard links, each once (a
            # cycle of hard links is safe); follows no soft or external
            # link.
            f.visititems(check)
    except _RefusedError:
        raise
    except (
        OSError,
        RuntimeError,
        KeyError,
        ValueError,
        TypeError,
        MemoryError,
    ) as e:
        return _excerpt(e)
    return None


def check_keras_file(path, error_cls=ValueError, hint=None, max_bytes=None):
    """Checks that a `.keras`, `.h5` or `.weights.h5` file is intact and
    holds nothing that makes a loader read other files or allocate
    unbounded memory.

    Reads no dataset: walks the HDF5 structure only (the `.h5` member of a
    `.keras` archive is streamed to a private temporary file for that),
    and streams the members of a `.keras` archive to check their CRCs.

    Args:
        path: str or path-like. The file.
        error_cls: the exception class to raise, called with one argument,
            the message. Default `ValueError`.
        hint: str or None. What to do about it, appended to the message
            (e.g. "Move it away to start afresh.").
        max_bytes: int or None. The most bytes the file may declare: its
            datasets' total size (an `.h5` file, or the `.h5` members of a
            `.keras` archive, each), and its members' total uncompressed
            size (a `.keras` archive). None: `2 * size + 1 MiB` for a file
            (or member) of `size` bytes, more than any file Keras writes
            declares (Keras stores weights uncompressed).

    Raises:
        error_cls: The file is missing, is not a regular file, cannot be
            read, or is damaged; or it holds a soft or external HDF5 link,
            a dataset with external storage, a virtual dataset, a dataset
            of a non-numeric type, or declares more than `max_bytes` (the
            message names `path` and says which).

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
    if not path.endswith((".keras", ".h5", ".hdf5")):
        raise _error(
            error_cls,
            f"{path} is not a Keras file: its name must end in .keras or .h5.",
            hint,
        )
    try:
        if path.endswith(".keras"):
            problem = _keras_zip_problem(path, max_bytes)
        else:
            problem = _h5_problem(path, max_bytes)
    except _RefusedError as e:
        raise _refused(error_cls, path, str(e), hint) from None
    except _ScratchError as e:
        raise _error(
            error_cls,
            f"{path} cannot be checked: its temporary copy cannot be "
            f"written ({e}).",
            hint,
        ) from None
    if problem is not None:
        raise _damaged(error_cls, path, problem, hint)


def load_model_or_raise(
    path, error_cls=ValueError, hint=None, max_bytes=None, **kwargs
):
    """`keras.saving.load_model(path)`, or an error that names the file.

    Checks the file with `check_keras_file` first: a damaged file is
    refused with an error that names it and says it is damaged, and so is
    a crafted one (see `check_keras_file`). Any other failure to load it (a
    model safe mode refuses, an unknown class, memory) is raised as
    `error_cls` too, naming the file and quoting Keras's reason.

    Args:
        path: str or path-like. A `.keras` (or legacy `.h5`) model file.
        error_cls: the exception class to raise, called with the message.
            Default `ValueError`.
        hint: str or None. What to do about a damaged file, appended to
            the message.
        max_bytes: int or None. The most bytes the file may declare (see
            `check_keras_file`); None: a bound derived from its size.
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
    check_keras_file(path, error_cls, hint, max_bytes)
    with _reporting(path, error_cls, hint, "", ""):
        return keras.saving.load_model(path, **kwargs)


@contextlib.contextmanager
def _reporting(path, error_cls, hint, what, why):
    """Turns what loading `path` raises into one `error_cls` naming it."""
    try:
        yield
    except _DAMAGE as e:
        raise _damaged(error_cls, path, _excerpt(e), hint) from e
    except ValueError as e:
        raise error_cls(f"cannot load {what}{path}: {_excerpt(e)}{why}") from e
    except _ODD as e:
        raise error_cls(
            f"cannot load {what}{path}: {type(e).__name__}: {_excerpt(e)}"
        ) from e


def load_weights_or_raise(
    model, path, error_cls=ValueError, hint=None, max_bytes=None
):
    """`model.load_weights(path)`, or an error that names the file.

    Checks the file with `check_keras_file` first: a damaged file is
    refused with an error that names it and says it is damaged, and so is
    a crafted one (see `check_keras_file`). Weights that do not fit
    `model`, or any other failure to load them, are refused too, naming
    the file.

    Args:
        model: a built Keras model (or layer).
        path: str or path-like. A `.weights.h5` file (or a `.keras` file).
        error_cls: the exception class to raise, called with the message.
            Default `ValueError`.
        hint: str or None. What to do about a damaged file, appended to
            the message.
        max_bytes: int or None. The most bytes the file may declare (see
            `check_keras_file`); None: a bound derived from its size.

    Raises:
        error_cls: The file is missing, damaged, crafted, or does not fit
            `model`.

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
    check_keras_file(path, error_cls, hint, max_bytes)
    with _reporting(
        path,
        error_cls,
        hint,
        "the weights ",
        " (a damaged file, or weights of another model)",
    ):
        model.load_weights(path)
