"""`load_dataset`: a batched, prefetched `tf.data` pipeline for `fit`."""

import numbers

import numpy as np

from keras_vae.datasets import _binarize
from keras_vae.datasets import _load
from keras_vae.datasets import _registry

BINARIZATIONS = ("dynamic", "fixed", None)
"""The values `load_dataset` accepts for `binarization`."""

_TRAIN_SPLITS = ("train", "train_without_validation")


def _default_shuffle(split):
    return split in _TRAIN_SPLITS or (
        isinstance(split, str) and split.startswith("train[")
    )


def load_dataset(
    name,
    split="train",
    *,
    batch_size=128,
    binarization="dynamic",
    shuffle=None,
    seed=0,
    data_dir=None,
    drop_remainder=False,
    rerandomize=True,
    labels=False,
):
    """Loads a dataset as a batched, prefetched `tf.data.Dataset` of images.

    The dataset yields image batches only, no labels, ready for
    `vae.fit(dataset)` on any Keras backend. The data come from `load` (same
    sources, same splits).

    Binarization, the standard likelihood protocol:

    - `"dynamic"` (for training): every pass over the dataset draws a fresh
      Bernoulli sample of every image, pixel on with probability
      `pixel / 255`. The draws are reproducible: the same `seed` gives the
      same sequence of epochs, a new iteration of the dataset gives new
      draws. Each pass takes one key from
      `tf.data.Dataset.random(seed, rerandomize_each_iteration=True)`;
      the shuffling order and every batch's draw (`stateless_uniform`) are
      pure functions of that key. Like every seeded TensorFlow op, that key
      also depends on TensorFlow's global seed when one is set (e.g. by
      `keras.utils.set_random_seed`).
    - `"fixed"` (for evaluation): the same binarization at every pass,
      `binarize(images, seed=FIXED_BINARIZATION_SEED)`; for the test split
      it is the evaluation set of `load_binarized_test_set`. `seed` does not
      change it.
    - `None`: grey levels, float32 `pixel / 255` in [0, 1].

    The pipeline runs on the CPU, in TensorFlow's `tf.data` whatever the
    Keras backend. With the JAX or PyTorch backend on a GPU machine, keep
    TensorFlow off the GPU so it does not reserve its memory:
    `tf.config.set_visible_devices([], "GPU")` before anything else.

    Args:
        name: str. `"mnist"` or `"fashion_mnist"`.
        split: str. See `load`. Defaults to `"train"`.
        batch_size: int. Images per batch. Defaults to 128.
        binarization: `"dynamic"`, `"fixed"` or `None`. See above. Defaults
            to `"dynamic"`.
        shuffle: bool or `None`. Whether to reshuffle the images at every
            pass. Defaults to `None`: `True` for `"train"`,
            `"train_without_validation"` and `"train[...]"` slices, `False`
            for `"test"`, `"validation"` and `"test[...]"`.
        seed: int or `None`. Seed of the shuffling and of the dynamic
            binarization. Defaults to 0. `None` gives unreproducible draws.
        data_dir: str, path-like or `None`. See `load`. Defaults to `None`.
        drop_remainder: bool. Whether to drop the last, smaller batch.
            Defaults to `False`.
        rerandomize: bool. Whether every new iteration of the dataset draws
            a new order and binarization (the default). False keeps, at
            every iteration, the draws of the first iteration of the
            default, so a dataset iterated more than once (Keras does so
            under a `tf.distribute` strategy, to build the model) gives the
            draws a single pass over a fresh dataset gives.
        labels: bool. Whether each batch comes with its images' labels, as
            `(images, labels)` (int32 labels, shape `(batch,)`), e.g. for a
            `ConditionalVAE`: `dataset.map(lambda x, c: ((x, c),))`.
            Defaults to `False`: images only.

    Returns:
        A `tf.data.Dataset` of float32 batches of shape
        `(batch_size, 28, 28, 1)` (the last one may be smaller), with known
        cardinality; with `labels=True`, of `(images, labels)` pairs.

    Raises:
        ValueError: If an argument is invalid. See also `load`.

    Example:

    ```python
    import keras_vae.datasets

    train = keras_vae.datasets.load_dataset("mnist", "train", batch_size=128)
    test = keras_vae.datasets.load_dataset(
        "mnist", "test", binarization="fixed"
    )
    # vae.fit(train, epochs=10, validation_data=test)
    ```
    """
    _registry.get_spec(name)
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, numbers.Integral)
        or batch_size < 1
    ):
        raise ValueError(
            "`batch_size` must be a positive integer. Received: "
            f"batch_size={batch_size!r}"
        )
    if binarization not in BINARIZATIONS:
        raise ValueError(
            f"`binarization` must be one of {list(BINARIZATIONS)}. "
            f"Received: binarization={binarization!r}"
        )
    if seed is not None:
        seed = _binarize._check_seed(seed)
    if shuffle is None:
        shuffle = _default_shuffle(split)
    elif not isinstance(shuffle, bool):
        raise ValueError(
            f"`shuffle` must be True, False or None. Received: "
            f"shuffle={shuffle!r}"
        )
    if not isinstance(drop_remainder, bool):
        raise ValueError(
            "`drop_remainder` must be True or False. Received: "
            f"drop_remainder={drop_remainder!r}"
        )
    for option, value in (("rerandomize", rerandomize), ("labels", labels)):
        if not isinstance(value, bool):
            raise ValueError(
                f"`{option}` must be True or False. Received: "
                f"{option}={value!r}"
            )

    images, classes, _ = _load.load_uint8(name, split, data_dir=data_dir)
    if binarization == "fixed":
        grey = np.divide(images, 255, dtype=np.float32)
        pixels = _binarize.binarize(
            grey, _binarize.FIXED_BINARIZATION_SEED
        ).astype(np.uint8)
        scale = 1.0
    else:
        pixels = images
        scale = 255.0
    return _make_pipeline(
        pixels,
        scale=scale,
        dynamic=binarization == "dynamic",
        batch_size=int(batch_size),
        shuffle=shuffle,
        seed=seed,
        drop_remainder=drop_remainder,
        rerandomize=rerandomize,
        labels=classes.astype(np.int32) if labels else None,
    )


def _make_pipeline(
    pixels,
    *,
    scale,
    dynamic,
    batch_size,
    shuffle,
    seed,
    drop_remainder,
    rerandomize=True,
    labels=None,
):
    import tensorflow as tf

    count = len(pixels)
    if drop_remainder:
        num_batches = count // batch_size
    else:
        num_batches = -(-count // batch_size)
    with tf.device("/CPU:0"):  # tf.data runs on the host anyway.
        pixels = tf.constant(pixels)
        if labels is not None:
            labels = tf.constant(labels)

    def one_epoch(key):
        if shuffle:
            noise = tf.random.stateless_uniform(
                [count], seed=tf.stack([key, tf.constant(0, tf.int64)])
            )
            order = tf.argsort(noise)
        else:
            order = tf.range(count)
        indices = tf.data.Dataset.from_tensor_slices(order).batch(
            batch_size, drop_remainder=drop_remainder
        )
        keys = tf.data.Dataset.from_tensors(key).repeat()
        return tf.data.Dataset.zip((keys, tf.data.Dataset.counter(1), indices))

    def make_batch(key, step, indices):
        batch = tf.cast(tf.gather(pixels, indices), tf.float32) / scale
        if dynamic:
            uniform = tf.random.stateless_uniform(
                tf.shape(batch), seed=tf.stack([key, step])
            )
            batch = tf.cast(uniform < batch, tf.float32)
        if labels is not None:
            return batch, tf.gather(labels, indices)
        return batch

    # One key per pass over the data: a fresh one at every new iteration.
    keys = tf.data.Dataset.random(
        seed=seed, rerandomize_each_iteration=True
    ).take(1)
    if not rerandomize:  # The first iteration's key, at every iteration.
        keys = tf.data.Dataset.from_tensors(next(iter(keys)))
    dataset = keys.flat_map(one_epoch)
    dataset = dataset.map(
        make_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )
    dataset = dataset.apply(
        tf.data.experimental.assert_cardinality(num_batches)
    )
    options = tf.data.Options()
    # The static graph rewrites would serialize the pipeline, pixels
    # included, at every new iteration (~0.3 s an epoch for 47 MB); the
    # pipeline is already what they would make of it.
    options.experimental_optimization.apply_default_optimizations = False
    # No autotuning: its thread sleeps 10 ms, 20 ms, 40 ms... between
    # passes, and an iterator's deletion (at the end of every epoch of
    # `fit`) waited for the current sleep to end: an epoch of 35 s took 41,
    # one of 45 s took 82. The pipeline is a gather and a comparison per
    # batch, ~100,000 images/s either way.
    options.autotune.enabled = False
    # Under a distribution strategy, shard by batch: there are no files.
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA
    )
    return dataset.with_options(options).prefetch(tf.data.AUTOTUNE)
