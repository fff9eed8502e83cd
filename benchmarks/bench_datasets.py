"""Benchmark of `keras_vae.datasets`: load time and training throughput.

Prints (asserts nothing):

1. Seconds to load each full data set (train + test splits) from the cache
   with `keras_vae.datasets.load`, checksum verification included.
   Target: <= 1 s.
2. Training throughput (samples/s) of a small MLP VAE (784-512-256-32
   encoder, mirrored decoder, Bernoulli likelihood) fed by
   `load_dataset(..., binarization="dynamic")` versus fed by numpy arrays
   already in memory (binarized once), with the same model, after one
   warm-up epoch per feed; and the ratio pipeline / arrays. Target: >= 0.95.

The two feeds alternate epoch by epoch to spread out any drift in machine
load; each epoch is timed as a whole `fit(epochs=1)` call (the end of an
epoch, where the pipeline's iterator is deleted, included), and the figures
are medians over the timed epochs. The data must be in
the cache (or a data directory):

    python -m keras_vae.datasets fetch mnist fashion_mnist
    KERAS_BACKEND=tensorflow python benchmarks/bench_datasets.py

Default run: about 2-3 minutes on 2 CPU cores for one backend.
"""

import argparse
import os
import resource
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir))

import keras  # noqa: E402
from keras import ops  # noqa: E402

import keras_vae.datasets  # noqa: E402


def bench_load(names, repeats):
    print("== Load from the cache (train + test, SHA-256 verified) ==")
    for name in names:
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            x_train, _ = keras_vae.datasets.load(name, "train")
            x_test, _ = keras_vae.datasets.load(name, "test")
            times.append(time.perf_counter() - start)
            del x_train, x_test
        print(
            f"{name:>14}: first {times[0]:.3f} s, best {min(times):.3f} s "
            f"over {repeats} (target <= 1 s)"
        )


class Sampling(keras.layers.Layer):
    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        mean, log_var = inputs
        noise = keras.random.normal(ops.shape(mean), seed=self.seed_generator)
        return mean + ops.exp(0.5 * log_var) * noise


class BernoulliElboLoss(keras.layers.Layer):
    """Adds the negative ELBO (Bernoulli likelihood, Gaussian prior)."""

    def call(self, inputs):
        x, logits, mean, log_var = inputs
        x = ops.reshape(x, (-1, 784))
        reconstruction = ops.sum(ops.softplus(logits) - x * logits, axis=-1)
        kl = -0.5 * ops.sum(
            1.0 + log_var - ops.square(mean) - ops.exp(log_var), axis=-1
        )
        self.add_loss(ops.mean(reconstruction + kl))
        return logits


def make_vae(latent_dim=32, seed=0):
    layers = keras.layers
    x = keras.Input((28, 28, 1))
    h = layers.Flatten()(x)
    h = layers.Dense(512, activation="relu")(h)
    h = layers.Dense(256, activation="relu")(h)
    mean = layers.Dense(latent_dim)(h)
    log_var = layers.Dense(latent_dim)(h)
    z = Sampling(seed=seed)([mean, log_var])
    h = layers.Dense(256, activation="relu")(z)
    h = layers.Dense(512, activation="relu")(h)
    logits = layers.Dense(784)(h)
    logits = BernoulliElboLoss()([x, logits, mean, log_var])
    model = keras.Model(x, logits)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    return model


def _cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def bench_training(name, epochs, batch_size):
    print(
        f"\n== Training throughput: {name} train, batch {batch_size}, one "
        f"warm-up epoch per feed, then {epochs} timed epoch(s) per feed, "
        "alternating =="
    )
    x_train, _ = keras_vae.datasets.load(name, "train")
    x_arrays = keras_vae.datasets.binarize(x_train, seed=1)
    count = len(x_train)
    dataset = keras_vae.datasets.load_dataset(
        name, "train", batch_size=batch_size, binarization="dynamic"
    )
    keras.utils.set_random_seed(0)
    model = make_vae()
    feeds = {
        "pipeline": lambda: model.fit(
            dataset, epochs=1, verbose=0, shuffle=False
        ),
        "arrays": lambda: model.fit(
            x_arrays, batch_size=batch_size, epochs=1, verbose=0, shuffle=True
        ),
    }
    for feed in feeds.values():  # warm-up: tracing, compilation, caches
        feed()
    wall = {key: [] for key in feeds}
    cpu = {key: [] for key in feeds}
    for i in range(epochs):
        order = list(feeds) if i % 2 == 0 else list(reversed(feeds))
        for key in order:
            # The whole `fit` call: the end of an epoch (the iterator's
            # deletion) is part of what it costs.
            start, start_cpu = time.perf_counter(), _cpu_seconds()
            feeds[key]()
            cpu[key].append(_cpu_seconds() - start_cpu)
            wall[key].append(time.perf_counter() - start)
    throughput = {
        key: count / statistics.median(times) for key, times in wall.items()
    }
    for key, label in (
        ("pipeline", "load_dataset, dynamic binarization"),
        ("arrays", "numpy arrays in memory, binarized"),
    ):
        print(
            f"{label:>36}: {throughput[key]:8,.0f} samples/s (median epoch "
            f"{statistics.median(wall[key]):.2f} s; epochs "
            + ", ".join(f"{t:.2f}" for t in wall[key])
            + f"; CPU {statistics.median(cpu[key]):.2f} s/epoch)"
        )
    ratio = throughput["pipeline"] / throughput["arrays"]
    print(f"ratio pipeline / arrays: {ratio:.3f} (target >= 0.95)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dataset",
        default="mnist",
        choices=keras_vae.datasets.DATASET_NAMES,
        help="data set to train on (default: mnist)",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=4,
        help="timed epochs per feed, after one warm-up epoch each; the "
        "feeds alternate epoch by epoch (default: 4)",
    )
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument(
        "--load-repeats", type=int, default=3, help="default: 3"
    )
    parser.add_argument(
        "--skip-training", action="store_true", help="only time loading"
    )
    args = parser.parse_args(argv)
    print(
        f"keras {keras.__version__}, backend {keras.backend.backend()}, "
        f"{os.cpu_count()} CPU(s), cache {keras_vae.datasets.get_cache_dir()}"
    )
    bench_load(keras_vae.datasets.DATASET_NAMES, args.load_repeats)
    if not args.skip_training:
        bench_training(args.dataset, args.epochs, args.batch_size)


if __name__ == "__main__":
    main()
