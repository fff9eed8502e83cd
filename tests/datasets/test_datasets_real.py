"""The real MNIST and Fashion-MNIST, from the keras_vae cache.

The test command fetches them first when missing:

    python -m keras_vae.datasets fetch mnist fashion_mnist

Without them these tests fail (they do not skip) and say that command.
"""

import hashlib
import sys

import numpy as np
import pytest

from keras_vae.datasets import _cache
from keras_vae.datasets import _registry
from keras_vae.datasets import get_cache_dir
from keras_vae.datasets import load
from keras_vae.datasets import load_binarized_test_set
from keras_vae.datasets import load_dataset

# Pinned SHA-256 of the decoded files, as published in the issue.
CHECKSUMS = {
    "mnist": {
        "train-images-idx3-ubyte": (
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"
        ),
        "train-labels-idx1-ubyte": (
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"
        ),
        "t10k-images-idx3-ubyte": (
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"
        ),
        "t10k-labels-idx1-ubyte": (
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"
        ),
    },
    "fashion_mnist": {
        "train-images-idx3-ubyte": (
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"
        ),
        "train-labels-idx1-ubyte": (
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"
        ),
        "t10k-images-idx3-ubyte": (
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"
        ),
        "t10k-labels-idx1-ubyte": (
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"
        ),
    },
}

LABEL_HISTOGRAMS = {
    ("mnist", "train"): [
        5923,
        6742,
        5958,
        6131,
        5842,
        5421,
        5918,
        6265,
        5851,
        5949,
    ],
    ("mnist", "test"): [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
    ("fashion_mnist", "train"): [6000] * 10,
    ("fashion_mnist", "test"): [1000] * 10,
}

# Well-known pixel statistics of the grey-level training images.
TRAIN_MEAN_STD = {"mnist": (0.1307, 0.3081), "fashion_mnist": (0.2860, 0.3530)}

# SHA-256 of np.packbits of the fixed binarized test set (seed 0): pins the
# evaluation data of every published likelihood.
BINARIZED_TEST_SET = {
    "mnist": (
        "ee3e3805386bfb29350ad685e8daf3a161f32f041db6c1fc50499780dc3471ef"
    ),
    "fashion_mnist": (
        "1722ec5b28ae8139359ba8f7521154ba06c26cd30c240af56f0c6f7f582acd81"
    ),
}

NAMES = ["mnist", "fashion_mnist"]


@pytest.fixture(params=NAMES)
def name(request, monkeypatch):
    name = request.param
    # Only the cache counts here: no user directory, no tfds.
    monkeypatch.delenv("KERAS_VAE_DATA_DIR", raising=False)
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)
    entry = _cache.entry_dir(name)
    reason = _cache.check_stamp(entry, _registry.get_spec(name))
    if reason is not None:
        pytest.fail(
            f"The real {name} data is not in the keras_vae cache "
            f"({get_cache_dir()}): {reason}. Fetch it with:\n"
            f"    python -m keras_vae.datasets fetch {name}",
            pytrace=False,
        )
    return name


def test_registry_pins_the_published_checksums():
    for name, files in CHECKSUMS.items():
        assert dict(_registry.get_spec(name).files) == files


def test_cached_files_match_checksums(name):
    entry = _cache.entry_dir(name)
    for filename, expected in CHECKSUMS[name].items():
        digest = hashlib.sha256((entry / filename).read_bytes()).hexdigest()
        assert digest == expected, filename


@pytest.mark.parametrize("split", ["train", "test"])
def test_counts_and_label_histograms(name, split):
    images, labels = load(name, split)
    count = 60_000 if split == "train" else 10_000
    assert images.shape == (count, 28, 28, 1)
    assert images.dtype == np.float32 and labels.dtype == np.int64
    assert images.min() == 0.0 and images.max() == 1.0
    histogram = np.bincount(labels, minlength=10).tolist()
    assert histogram == LABEL_HISTOGRAMS[name, split]


def test_pixel_statistics(name):
    images, _ = load(name, "train")
    mean, std = TRAIN_MEAN_STD[name]
    assert abs(images.mean() - mean) < 1e-4
    assert abs(images.std() - std) < 1e-4


def test_validation_split_is_the_last_10000_training_images(name):
    train, train_labels = load(name, "train")
    validation, validation_labels = load(name, "validation")
    rest, rest_labels = load(name, "train_without_validation")
    assert len(validation) == 10_000 and len(rest) == 50_000
    np.testing.assert_array_equal(validation, train[50_000:])
    np.testing.assert_array_equal(validation_labels, train_labels[50_000:])
    np.testing.assert_array_equal(rest, train[:50_000])
    np.testing.assert_array_equal(rest_labels, train_labels[:50_000])


def test_fixed_binarized_test_set_is_pinned(name):
    images, labels = load_binarized_test_set(name)
    assert images.shape == (10_000, 28, 28, 1)
    packed = np.packbits(images.astype(np.uint8)).tobytes()
    assert hashlib.sha256(packed).hexdigest() == BINARIZED_TEST_SET[name]
    assert np.bincount(labels).tolist() == LABEL_HISTOGRAMS[name, "test"]


def test_full_training_pipeline_epoch(name):
    dataset = load_dataset(name, "train", batch_size=1000)
    assert int(dataset.cardinality()) == 60
    total = 0
    for batch in dataset:
        total += int(batch.shape[0])
    assert total == 60_000
