"""`binarize`: the pinned, fixed stochastic binarization."""

import numpy as np
import pytest

from keras_vae.datasets import FIXED_BINARIZATION_SEED
from keras_vae.datasets import _testing
from keras_vae.datasets import binarize
from keras_vae.datasets import load
from keras_vae.datasets import load_binarized_test_set


def test_matches_an_independent_reference():
    # numpy's Generator.random() is documented as (next_uint64 >> 11) *
    # 2**-53 on the same bit generator: the formula `binarize` pins. More
    # than one chunk of 2**20 values, to cover the chunked draw.
    probabilities = np.random.default_rng(5).random((3, 700, 600))
    uniform = np.random.Generator(np.random.PCG64(42)).random(
        probabilities.size
    )
    expected = (uniform.reshape(probabilities.shape) < probabilities).astype(
        np.float32
    )
    got = binarize(probabilities.astype(np.float32), seed=42)
    assert got.dtype == np.float32 and got.shape == probabilities.shape
    mismatches = np.count_nonzero(got != expected)
    # float32 rounding of the probabilities may flip a rare boundary case.
    assert mismatches <= 2


def test_exact_reference_on_float64():
    probabilities = np.random.default_rng(1).random(1000)
    uniform = np.random.Generator(np.random.PCG64(7)).random(1000)
    np.testing.assert_array_equal(
        binarize(probabilities, seed=7), uniform < probabilities
    )


def test_reproducible_and_seed_dependent():
    images = np.full((4, 28, 28, 1), 0.5, np.float32)
    first = binarize(images, seed=3)
    np.testing.assert_array_equal(first, binarize(images, seed=3))
    assert np.any(first != binarize(images, seed=4))
    assert set(np.unique(first)) == {0.0, 1.0}


def test_probabilities_are_respected():
    images = np.zeros((100_000,), np.float32)
    images[:3] = [0.0, 1.0, 1.0]
    images[3:] = 0.3
    bits = binarize(images, seed=0)
    assert bits[0] == 0.0 and bits[1] == 1.0 and bits[2] == 1.0
    assert abs(bits[3:].mean() - 0.3) < 0.005  # ~3.5 standard errors


@pytest.mark.parametrize(
    "images, match",
    [
        (np.zeros(3, np.uint8), "dtype=uint8"),
        (np.array([0.2, 1.5]), "values from 0.2 to 1.5"),
        (np.array([-0.1, 0.5]), "values from -0.1 to 0.5"),
    ],
)
def test_rejects_bad_images(images, match):
    with pytest.raises(ValueError, match=match):
        binarize(images, seed=0)


@pytest.mark.parametrize("seed", [-1, 1.5, None, True, "0"])
def test_rejects_bad_seeds(seed):
    with pytest.raises(ValueError, match="`seed` must be a non-negative"):
        binarize(np.zeros(3, np.float32), seed=seed)


def test_fixed_test_set(tmp_path, monkeypatch):
    _testing.install_fake_dataset(monkeypatch, tmp_path)
    monkeypatch.setenv("KERAS_VAE_DATA_DIR", "")
    images, labels = load("mnist", "test")
    binary, binary_labels = load_binarized_test_set("mnist")
    assert FIXED_BINARIZATION_SEED == 0
    np.testing.assert_array_equal(binary, binarize(images, seed=0))
    np.testing.assert_array_equal(binary_labels, labels)
    np.testing.assert_array_equal(binary, load_binarized_test_set("mnist")[0])
