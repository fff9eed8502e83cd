"""Fixed stochastic binarization (numpy), for the evaluation test set."""

import numbers

import numpy as np

from keras_vae.datasets import _load

FIXED_BINARIZATION_SEED = 0
"""Seed of the fixed stochastic binarization of evaluation sets.

`load_binarized_test_set(name)` is `binarize(test_images, seed=0)`.
"""

_CHUNK = 1 << 20


def _check_seed(seed, argument="seed"):
    if (
        isinstance(seed, bool)
        or not isinstance(seed, numbers.Integral)
        or not 0 <= seed < 2**63
    ):
        raise ValueError(
            f"`{argument}` must be a non-negative integer. Received: "
            f"{argument}={seed!r}"
        )
    return int(seed)


def binarize(images, seed):
    """Draws one stochastic binarization of images, reproducibly.

    Every value `p` (a pixel intensity in [0, 1]) becomes 1 with probability
    `p` and 0 otherwise, independently. The draw is pinned, independent of
    any global random state: pixel `j` of the array (in C order) is 1 if and
    only if `u_j < p_j`, where `u_j = (w_j >> 11) * 2**-53` and `w_j` is the
    `j`-th 64-bit output of `numpy.random.PCG64(seed).random_raw()` (a
    bit stream numpy keeps stable across versions).

    The standard evaluation protocol binarizes the test set once with
    `FIXED_BINARIZATION_SEED` (0): see `load_binarized_test_set`.

    Args:
        images: float array-like with values in [0, 1], any shape.
        seed: int. A non-negative seed.

    Returns:
        A float32 array of the shape of `images` holding 0.0 and 1.0.

    Raises:
        ValueError: If `images` is not floating point or leaves [0, 1], or
            `seed` is not a non-negative integer.

    Example:

    ```python
    import keras_vae.datasets

    x_test, _ = keras_vae.datasets.load("mnist", split="test")
    x_bin = keras_vae.datasets.binarize(x_test, seed=0)
    ```
    """
    seed = _check_seed(seed)
    images = np.asarray(images)
    if not np.issubdtype(images.dtype, np.floating):
        raise ValueError(
            "`images` must hold floating-point probabilities in [0, 1] (for "
            "uint8 pixels, divide by 255 first). Received: "
            f"images.dtype={images.dtype}"
        )
    flat = images.reshape(-1)
    if flat.size and not (flat.min() >= 0 and flat.max() <= 1):
        raise ValueError(
            "`images` must hold values in [0, 1]. Received: values from "
            f"{flat.min()} to {flat.max()}"
        )
    bit_generator = np.random.PCG64(seed)
    out = np.empty(flat.shape, dtype=np.float32)
    for start in range(0, flat.size, _CHUNK):
        stop = min(start + _CHUNK, flat.size)
        words = bit_generator.random_raw(stop - start)
        uniform = (words >> np.uint64(11)).astype(np.float64) * 2.0**-53
        np.less(uniform, flat[start:stop], out=out[start:stop])
    return out.reshape(images.shape)


def load_binarized_test_set(name, *, data_dir=None):
    """Loads the fixed binarized test set used for likelihood evaluation.

    The test images of `load(name, "test")`, binarized once with
    `binarize(images, seed=FIXED_BINARIZATION_SEED)` (seed 0), so every model
    is evaluated on exactly the same binary images.

    Args:
        name: str. `"mnist"` or `"fashion_mnist"`.
        data_dir: str, path-like or `None`. See `load`. Defaults to `None`.

    Returns:
        A tuple `(images, labels)`: float32 images of shape
        `(10000, 28, 28, 1)` holding 0.0 and 1.0, and int64 labels.

    Example:

    ```python
    import keras_vae.datasets

    x_test, y_test = keras_vae.datasets.load_binarized_test_set("mnist")
    ```
    """
    images, labels = _load.load(name, "test", data_dir=data_dir)
    return binarize(images, FIXED_BINARIZATION_SEED), labels
