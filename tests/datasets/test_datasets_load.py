"""`load`: sources in order, splits, verification, errors, public API."""

import gzip
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import keras_vae.datasets
from keras_vae.datasets import ChecksumError
from keras_vae.datasets import DatasetNotFoundError
from keras_vae.datasets import IdxFormatError
from keras_vae.datasets import _load
from keras_vae.datasets import _registry
from keras_vae.datasets import _testing
from keras_vae.datasets import load

# NumPy arrays from files, whatever the Keras backend (tests/conftest.py).
pytestmark = pytest.mark.backend_independent

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _no_tfds(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)


def _grey(array):
    return array[..., None].astype(np.float32) / np.float32(255)


def test_public_api_is_importable_and_documented():
    for name in keras_vae.datasets.__all__:
        value = getattr(keras_vae.datasets, name)
        if callable(value):
            assert value.__doc__, name
    assert keras_vae.datasets.DATASET_NAMES == ("mnist", "fashion_mnist")
    assert keras_vae.datasets.SPLITS == (
        "train",
        "test",
        "validation",
        "train_without_validation",
    )


def test_import_is_cheap():
    # Without keras_vae/__init__.py (which imports Keras), importing the
    # datasets package must import neither TensorFlow nor tfds.
    code = textwrap.dedent(
        f"""
        import sys, types
        package = types.ModuleType("keras_vae")
        package.__path__ = [{str(REPO / "keras_vae")!r}]
        sys.modules["keras_vae"] = package
        import keras_vae.datasets
        heavy = ["tensorflow", "tensorflow_datasets", "keras", "jax", "torch"]
        print([m for m in heavy if m in sys.modules])
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "split, size, part, start",
    [
        ("train", 12, "train", 0),
        ("test", 5, "test", 0),
        ("validation", 3, "train", 9),
        ("train_without_validation", 9, "train", 0),
        ("train[2:6]", 4, "train", 2),
        ("test[-2:]", 2, "test", 3),
        ("train[:]", 12, "train", 0),
    ],
)
def test_splits(tmp_path, monkeypatch, split, size, part, start):
    _, arrays = _testing.install_fake_dataset(monkeypatch, tmp_path)
    images, labels = load("mnist", split)
    assert images.shape == (size, 28, 28, 1)
    assert images.dtype == np.float32 and labels.dtype == np.int64
    images_file, labels_file = _registry.PARTS[part]
    np.testing.assert_array_equal(
        images, _grey(arrays[images_file][start : start + size])
    )
    np.testing.assert_array_equal(
        labels, arrays[labels_file][start : start + size]
    )


def test_pixel_values_are_scaled_to_unit_interval(tmp_path, monkeypatch):
    _testing.install_fake_dataset(monkeypatch, tmp_path)
    images, _ = load("mnist", "train")
    assert images.min() == 0.0 and images.max() == 1.0
    assert np.all(images * 255 == np.round(images * 255))


@pytest.mark.parametrize("split", ["training", "valid", "train[:a]", 3, None])
def test_unknown_split(split):
    with pytest.raises(ValueError, match="`split` must be one of") as info:
        load("mnist", split)
    assert f"split={split!r}" in str(info.value)
    assert "'train_without_validation'" in str(info.value)


@pytest.mark.parametrize("name", ["MNIST", "cifar10", None])
def test_unknown_name(name):
    with pytest.raises(ValueError, match="`name` must be one of") as info:
        load(name)
    assert f"name={name!r}" in str(info.value)
    assert "'fashion_mnist'" in str(info.value)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize("layout", ["flat", "subdir"])
@pytest.mark.parametrize("how", ["argument", "environment"])
def test_user_directory(tmp_path, monkeypatch, compress, layout, how):
    _, arrays = _testing.install_fake_dataset(
        monkeypatch, tmp_path / "cache", fetch=False
    )
    data_dir = tmp_path / "data"
    target = data_dir / "mnist" if layout == "subdir" else data_dir
    _testing.write_files(target, arrays, compress=compress)
    if how == "environment":
        monkeypatch.setenv(_load.DATA_DIR_ENV, str(data_dir))
        data_dir = None
    images, labels, source = _load.load_uint8(
        "mnist", "test", data_dir=data_dir
    )
    assert source == str(target)
    np.testing.assert_array_equal(images[..., 0], arrays[_registry.TEST_IMAGES])
    np.testing.assert_array_equal(labels, arrays[_registry.TEST_LABELS])


def test_user_directory_comes_before_the_cache(tmp_path, monkeypatch):
    _testing.install_fake_dataset(monkeypatch, tmp_path / "cache")
    arrays = _testing.make_arrays()
    _testing.write_files(tmp_path / "data", arrays, compress=True)
    _, _, source = _load.load_uint8("mnist", data_dir=tmp_path / "data")
    assert source == str(tmp_path / "data")
    _, _, source = _load.load_uint8("mnist")
    assert source == str(tmp_path / "cache" / "datasets" / "mnist")


def test_incomplete_user_directory_falls_through_to_cache(
    tmp_path, monkeypatch
):
    _, arrays = _testing.install_fake_dataset(monkeypatch, tmp_path / "cache")
    # Only the test part is there: "train" comes from the cache.
    test_only = {k: v for k, v in arrays.items() if k.startswith("t10k")}
    _testing.write_files(tmp_path / "data", test_only)
    _, _, source = _load.load_uint8("mnist", "test", data_dir=tmp_path / "data")
    assert source == str(tmp_path / "data")
    _, _, source = _load.load_uint8(
        "mnist", "train", data_dir=tmp_path / "data"
    )
    assert source.endswith("datasets/mnist")


def test_corrupt_user_file_is_an_error_not_a_fallback(tmp_path, monkeypatch):
    _, arrays = _testing.install_fake_dataset(monkeypatch, tmp_path / "cache")
    paths = _testing.write_files(tmp_path / "data", arrays, compress=True)
    path = pathlib.Path(paths[_registry.TRAIN_LABELS])
    labels = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(labels[:-1] + b"\x09"))
    with pytest.raises(ChecksumError) as info:
        load("mnist", data_dir=tmp_path / "data")
    message = str(info.value)
    assert str(path) in message
    assert _registry.DATASETS["mnist"].files[_registry.TRAIN_LABELS] in message


def test_truncated_user_file(tmp_path, monkeypatch):
    _, arrays = _testing.install_fake_dataset(
        monkeypatch, tmp_path, fetch=False
    )
    paths = _testing.write_files(tmp_path / "data", arrays)
    path = pathlib.Path(paths[_registry.TEST_IMAGES])
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(IdxFormatError, match="Truncated IDX file"):
        load("mnist", "test", data_dir=tmp_path / "data")


def test_cache_without_stamp_is_not_accepted(tmp_path, monkeypatch):
    _testing.install_fake_dataset(monkeypatch, tmp_path)
    (tmp_path / "datasets" / "mnist" / "keras_vae_dataset.json").unlink()
    with pytest.raises(DatasetNotFoundError, match="incomplete entry"):
        load("mnist")


def test_error_when_every_source_fails(tmp_path, monkeypatch):
    _testing.install_fake_dataset(monkeypatch, tmp_path / "cache", fetch=False)
    with pytest.raises(DatasetNotFoundError) as info:
        load("mnist", "validation", data_dir=tmp_path / "nowhere")
    message = str(info.value)
    assert "Could not load dataset 'mnist' (split 'validation')" in message
    assert "1. data directory (data_dir argument):" in message
    assert "nowhere is not a directory" in message
    assert "2. keras_vae cache:" in message
    assert "3. tensorflow-datasets: tensorflow-datasets is not installed" in (
        message
    )
    assert "python -m keras_vae.datasets fetch mnist" in message
    assert isinstance(info.value, FileNotFoundError)


def test_error_without_data_directory_says_how_to_give_one(
    tmp_path, monkeypatch
):
    _testing.install_fake_dataset(monkeypatch, tmp_path, fetch=False)
    with pytest.raises(DatasetNotFoundError, match="KERAS_VAE_DATA_DIR"):
        load("mnist")
