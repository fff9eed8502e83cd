"""The tensorflow-datasets source, with `tfds.testing.mock_data`."""

import numpy as np
import pytest

from keras_vae.datasets import DatasetNotFoundError
from keras_vae.datasets import _load
from keras_vae.datasets import _testing
from keras_vae.datasets import load
from keras_vae.datasets import load_dataset

tfds = pytest.importorskip("tensorflow_datasets")


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_VAE_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("KERAS_VAE_DATA_DIR", raising=False)
    return tmp_path


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_tfds_is_the_last_source(empty_cache, name):
    with tfds.testing.mock_data(num_examples=7):
        images, labels, source = _load.load_uint8(name, "train")
        grey, grey_labels = load(name, "test")
    assert source == "tensorflow-datasets"
    assert images.shape == (7, 28, 28, 1) and images.dtype == np.uint8
    assert labels.shape == (7,) and labels.dtype == np.int64
    assert grey.shape == (7, 28, 28, 1) and grey.dtype == np.float32
    assert 0.0 <= grey.min() and grey.max() <= 1.0
    assert grey_labels.dtype == np.int64
    assert np.all((0 <= grey_labels) & (grey_labels < 10))


def test_validation_split_maps_to_a_tfds_slice(empty_cache, monkeypatch):
    calls = []
    real_load = tfds.load

    def spy(name, **kwargs):
        calls.append((name, kwargs["split"], kwargs["download"]))
        return real_load(name, **kwargs)

    monkeypatch.setattr(tfds, "load", spy)
    with tfds.testing.mock_data(num_examples=3):
        load("mnist", "validation")
        load("mnist", "train_without_validation")
        load("mnist", "test[:2]")
    assert calls == [
        ("mnist", "train[50000:]", False),
        ("mnist", "train[:50000]", False),
        ("mnist", "test[:2]", False),
    ]


def test_pipeline_over_tfds(empty_cache):
    with tfds.testing.mock_data(num_examples=10):
        dataset = load_dataset("mnist", batch_size=4)
    batches = [np.asarray(batch) for batch in dataset]
    assert [len(batch) for batch in batches] == [4, 4, 2]
    assert set(np.unique(np.concatenate(batches))) <= {0.0, 1.0}


def test_cache_comes_before_tfds(tmp_path, monkeypatch):
    _, arrays = _testing.install_fake_dataset(monkeypatch, tmp_path)
    with tfds.testing.mock_data(num_examples=7):
        images, _, source = _load.load_uint8("mnist", "train")
    assert source.endswith("datasets/mnist")
    assert len(images) == 12


def test_tfds_without_prepared_data(empty_cache, monkeypatch):
    def not_prepared(name, **kwargs):
        raise AssertionError(
            f"Dataset {name}: could not find data in /nowhere. Please make "
            "sure to call dataset_builder.download_and_prepare()"
        )

    monkeypatch.setattr(tfds, "load", not_prepared)
    with pytest.raises(DatasetNotFoundError) as info:
        load("fashion_mnist", "test")
    message = str(info.value)
    assert (
        "3. tensorflow-datasets: tfds.load('fashion_mnist', split='test', "
        "download=False) failed: Dataset fashion_mnist: could not find data"
    ) in message
    assert "python -m keras_vae.datasets fetch fashion_mnist" in message
    assert "Debian package dataset-fashion-mnist" in message
