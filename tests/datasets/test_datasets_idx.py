"""IDX parsing on small files the tests write, raw and gzipped."""

import gzip
import struct

import numpy as np
import pytest

from keras_vae.datasets import IdxFormatError
from keras_vae.datasets import read_idx
from keras_vae.datasets import write_idx
from keras_vae.datasets._idx import IMAGES_MAGIC
from keras_vae.datasets._idx import LABELS_MAGIC
from keras_vae.datasets._idx import encode_idx
from keras_vae.datasets._idx import parse_idx


def _images(count=3):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
def test_round_trip_images_and_labels(tmp_path, compress):
    images = _images()
    labels = np.array([7, 0, 9], dtype=np.uint8)
    images_path = write_idx(tmp_path / "img", images, compress=compress)
    labels_path = write_idx(tmp_path / "lbl", labels, compress=compress)
    assert (images_path.read_bytes()[:2] == b"\x1f\x8b") == compress
    got_images = read_idx(images_path, expected_magic=IMAGES_MAGIC)
    got_labels = read_idx(labels_path, expected_magic=LABELS_MAGIC)
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)
    assert got_images.dtype == np.uint8


def test_header_layout_matches_the_idx_format():
    data = encode_idx(np.zeros((2, 28, 28), np.uint8))
    assert data[:4] == b"\x00\x00\x08\x03"
    assert struct.unpack(">3I", data[4:16]) == (2, 28, 28)
    assert len(data) == 16 + 2 * 28 * 28


@pytest.mark.parametrize(
    "dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"]
)
def test_round_trip_every_element_type(dtype):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    if dtype == "uint8":
        array = np.arange(24, dtype=dtype).reshape(2, 3, 4)
    got = parse_idx(encode_idx(array))
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, array)


def test_gzip_is_detected_from_content_not_name(tmp_path):
    labels = np.arange(10, dtype=np.uint8)
    path = tmp_path / "labels-without-gz-suffix"
    path.write_bytes(gzip.compress(encode_idx(labels)))
    np.testing.assert_array_equal(read_idx(path), labels)


@pytest.mark.parametrize(
    "header",
    [
        b"\x12\x34\x08\x01",  # non-zero leading bytes
        b"\x00\x00\x07\x01",  # unknown element type code
        b"\x00\x00\x08\x00",  # zero dimensions
    ],
    ids=["leading-bytes", "type-code", "no-dims"],
)
@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
def test_wrong_magic_number(tmp_path, header, compress):
    data = header + struct.pack(">I", 3) + bytes(3)
    if compress:
        data = gzip.compress(data)
    path = tmp_path / "bad-magic"
    path.write_bytes(data)
    with pytest.raises(IdxFormatError, match="wrong magic number") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_magic_of_another_file_kind_is_rejected(tmp_path):
    path = write_idx(tmp_path / "labels", np.arange(5, dtype=np.uint8))
    with pytest.raises(IdxFormatError, match="Wrong magic number") as info:
        read_idx(path, expected_magic=IMAGES_MAGIC)
    message = str(info.value)
    assert "0x00000801" in message and "0x00000803" in message


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize("keep", [2, 10, 16 + 28 * 28 * 3 - 1])
def test_truncated_file(tmp_path, compress, keep):
    data = encode_idx(_images())[:keep]
    if compress:
        data = gzip.compress(data)
    path = tmp_path / "truncated"
    path.write_bytes(data)
    with pytest.raises(IdxFormatError, match="Truncated IDX file"):
        read_idx(path)


def test_trailing_bytes(tmp_path):
    path = tmp_path / "long"
    path.write_bytes(encode_idx(np.arange(4, dtype=np.uint8)) + b"\x00")
    with pytest.raises(IdxFormatError, match="1 unexpected trailing"):
        read_idx(path)


def test_truncated_gzip_stream(tmp_path):
    data = gzip.compress(encode_idx(_images()))
    path = tmp_path / "cut.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(IdxFormatError, match="Corrupt or truncated gzip"):
        read_idx(path)


def test_encode_rejects_unsupported_arrays():
    with pytest.raises(ValueError, match="dtype=int64"):
        encode_idx(np.arange(3, dtype=np.int64))
    with pytest.raises(ValueError, match=r"shape=\(\)"):
        encode_idx(np.uint8(3))
