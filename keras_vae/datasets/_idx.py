"""Reading and writing IDX files, raw or gzipped.

IDX is the format of the original MNIST and Fashion-MNIST files. A file is a
4-byte magic number `0x0000TTNN` (`TT`: element type code, `NN`: number of
dimensions), `NN` big-endian unsigned 32-bit dimension sizes, then the
elements in C order, big-endian.
"""

import gzip
import math
import os
import struct
import zlib

import numpy as np

IMAGES_MAGIC = 0x00000803
"""Magic number of an unsigned-byte 3-D IDX file (the image files)."""

LABELS_MAGIC = 0x00000801
"""Magic number of an unsigned-byte 1-D IDX file (the label files)."""

_GZIP_MAGIC = b"\x1f\x8b"

# IDX element type code -> big-endian numpy dtype.
_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dtype.newbyteorder("="): code for code, dtype in _DTYPES.items()}


class IdxFormatError(ValueError):
    """Raised when bytes are not a well-formed IDX file."""


def _describe_magic(magic):
    code = (magic >> 8) & 0xFF
    ndim = magic & 0xFF
    dtype = _DTYPES.get(code)
    kind = dtype.newbyteorder("=").name if dtype is not None else "unknown"
    return f"0x{magic:08x}: {kind} elements, {ndim} dimension(s)"


def parse_idx(data, *, expected_magic=None, source="<bytes>"):
    """Parses the bytes of an (uncompressed) IDX file.

    The header is checked against the length of `data`: a file shorter than
    its header announces is reported as truncated, a longer one as having
    trailing bytes.

    Args:
        data: bytes-like. The content of the IDX file.
        expected_magic: int or `None`. When given, the magic number the file
            must carry (e.g. `IMAGES_MAGIC` or `LABELS_MAGIC`). Defaults to
            `None`, which accepts any valid IDX magic number.
        source: str. How to name the data in error messages, usually its
            path. Defaults to `"<bytes>"`.

    Returns:
        A numpy array with the shape and element type of the file, in native
        byte order. For unsigned-byte files it is a read-only view of `data`.

    Raises:
        IdxFormatError: If the magic number is wrong or the length does not
            match the header.

    Example:

    ```python
    import numpy as np
    from keras_vae.datasets._idx import parse_idx

    data = bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9])
    parse_idx(data)  # array([7, 8, 9], dtype=uint8)
    ```
    """
    view = memoryview(data).cast("B")
    size = len(view)
    if size < 4:
        raise IdxFormatError(
            f"Truncated IDX file {source}: it has {size} byte(s), fewer than "
            "the 4 bytes of the magic number."
        )
    magic = int.from_bytes(view[:4], "big")
    code = view[2]
    ndim = view[3]
    if view[0] != 0 or view[1] != 0 or code not in _DTYPES or ndim == 0:
        codes = ", ".join(f"0x{c:02x}" for c in _DTYPES)
        raise IdxFormatError(
            f"{source} is not an IDX file: wrong magic number "
            f"0x{magic:08x}. An IDX magic number is 0x0000TTNN with element "
            f"type code TT in ({codes}) and NN >= 1 dimensions."
        )
    if expected_magic is not None and magic != expected_magic:
        raise IdxFormatError(
            f"Wrong magic number in {source}: got "
            f"{_describe_magic(magic)}; expected "
            f"{_describe_magic(expected_magic)}."
        )
    header_size = 4 + 4 * ndim
    if size < header_size:
        raise IdxFormatError(
            f"Truncated IDX file {source}: its header needs {header_size} "
            f"bytes for {ndim} dimension(s) but the file has {size}."
        )
    shape = struct.unpack(f">{ndim}I", view[4:header_size])
    dtype = _DTYPES[code]
    count = math.prod(shape)
    expected_size = header_size + count * dtype.itemsize
    if size < expected_size:
        raise IdxFormatError(
            f"Truncated IDX file {source}: the header announces shape "
            f"{shape} ({expected_size} bytes in all) but the file has "
            f"{size} bytes."
        )
    if size > expected_size:
        raise IdxFormatError(
            f"Malformed IDX file {source}: the header announces shape "
            f"{shape} ({expected_size} bytes in all) but the file has "
            f"{size} bytes ({size - expected_size} unexpected trailing "
            "bytes)."
        )
    array = np.frombuffer(view, dtype=dtype, count=count, offset=header_size)
    array = array.reshape(shape)
    if dtype.itemsize > 1:
        array = array.astype(dtype.newbyteorder("="))
    return array


def read_decoded(path):
    """Returns the decoded bytes of a file, gunzipping it if it is gzipped.

    Gzip is recognised by its magic bytes, not by the file name.

    Args:
        path: str or path-like. The file to read.

    Returns:
        The (decompressed) content as `bytes`.

    Raises:
        IdxFormatError: If the file is gzipped but corrupt or truncated.

    Example:

    ```python
    import gzip
    import os
    import tempfile
    from keras_vae.datasets._idx import read_decoded

    path = os.path.join(tempfile.mkdtemp(), "data.gz")
    with open(path, "wb") as f:
        f.write(gzip.compress(b"IDX bytes"))
    read_decoded(path)  # b'IDX bytes'
    ```
    """
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] != _GZIP_MAGIC:
        return data
    try:
        return gzip.decompress(data)
    except (EOFError, OSError, zlib.error) as e:
        raise IdxFormatError(
            f"Corrupt or truncated gzip file {os.fspath(path)}: {e}"
        ) from e


def read_idx(path, *, expected_magic=None):
    """Reads an IDX file, raw or gzipped.

    Args:
        path: str or path-like. The file to read; gzip is detected from the
            content.
        expected_magic: int or `None`. See `parse_idx`. Defaults to `None`.

    Returns:
        A numpy array with the shape and element type of the file.

    Raises:
        IdxFormatError: If the file is not a well-formed IDX file.

    Example:

    ```python
    import os
    import tempfile
    import numpy as np
    import keras_vae.datasets

    path = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte.gz")
    keras_vae.datasets.write_idx(
        path, np.arange(10, dtype="uint8"), compress=True
    )
    labels = keras_vae.datasets.read_idx(path)  # array([0, 1, ..., 9])
    ```
    """
    return parse_idx(
        read_decoded(path),
        expected_magic=expected_magic,
        source=os.fspath(path),
    )


def encode_idx(array):
    """Encodes a numpy array as the bytes of an IDX file.

    Args:
        array: array-like of one of the IDX element types (uint8, int8,
            int16, int32, float32, float64) with at least one dimension.

    Returns:
        The IDX file content as `bytes`.

    Raises:
        ValueError: If the element type or the number of dimensions cannot
            be written as IDX.

    Example:

    ```python
    import numpy as np
    from keras_vae.datasets._idx import encode_idx

    encode_idx(np.array([7, 8, 9], dtype="uint8"))
    ```
    """
    array = np.asarray(array)
    code = _CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        raise ValueError(
            "`array` must have an IDX element type (uint8, int8, int16, "
            f"int32, float32, float64). Received: dtype={array.dtype}"
        )
    if not 1 <= array.ndim <= 255:
        raise ValueError(
            "`array` must have between 1 and 255 dimensions. Received: "
            f"shape={array.shape}"
        )
    header = bytes([0, 0, code, array.ndim])
    header += struct.pack(f">{array.ndim}I", *array.shape)
    body = np.ascontiguousarray(array, dtype=_DTYPES[code]).tobytes()
    return header + body


def write_idx(path, array, *, compress=False):
    """Writes a numpy array as an IDX file, optionally gzipped.

    Args:
        path: str or path-like. Where to write.
        array: array-like. See `encode_idx`.
        compress: bool. Whether to gzip the file (with a zero timestamp, so
            the output is reproducible). Defaults to `False`.

    Returns:
        `path`.

    Example:

    ```python
    import os
    import tempfile
    import numpy as np
    import keras_vae.datasets

    path = os.path.join(tempfile.mkdtemp(), "labels.gz")
    keras_vae.datasets.write_idx(
        path, np.arange(10, dtype="uint8"), compress=True
    )
    ```
    """
    data = encode_idx(array)
    if compress:
        data = gzip.compress(data, mtime=0)
    with open(path, "wb") as f:
        f.write(data)
    return path
