"""Quickstart: train a small MLP VAE on MNIST briefly, then draw from it.

Trains the 784-512-256-(32) MLP VAE for a few epochs on dynamically
binarized MNIST (from `keras_vae.datasets`; run
`python -m keras_vae.datasets fetch mnist` once first), reports the test
ELBO and the importance-weighted NLL, and writes a PNG grid of samples
from the prior and a grid of reconstructions.

    python examples/quickstart.py --epochs 3 --output samples.png

`--data synthetic` trains on random blobs instead, for machines without the
data.
"""

import argparse
import os

import keras
import numpy as np

import keras_vae
from keras_vae.utils import save_image_grid


def mlp_vae(latent_dim=32, seed=0):
    inputs = keras.Input((28, 28, 1))
    h = keras.layers.Flatten()(inputs)
    h = keras.layers.Dense(512, activation="relu")(h)
    h = keras.layers.Dense(256, activation="relu")(h)
    encoder = keras.Model(inputs, h, name="encoder")
    latent = keras.Input((latent_dim,))
    h = keras.layers.Dense(256, activation="relu")(latent)
    h = keras.layers.Dense(512, activation="relu")(h)
    h = keras.layers.Dense(784)(h)
    decoder = keras.Model(
        latent, keras.layers.Reshape((28, 28, 1))(h), name="decoder"
    )
    return keras_vae.VAE(encoder, decoder, latent_dim=latent_dim, seed=seed)


def synthetic_data(n, seed):
    """Random soft blobs on 28x28, binarized: something to learn."""
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(np.arange(28), np.arange(28), indexing="ij"))
    centres = rng.uniform(6, 22, size=(n, 2, 1, 1))
    radius = rng.uniform(3, 8, size=(n, 1, 1))
    distance = np.sqrt(((grid[None] - centres) ** 2).sum(1))
    images = (distance < radius).astype("float32")[..., None]
    flip = rng.random(images.shape) < 0.02
    return np.where(flip, 1 - images, images).astype("float32")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument(
        "--data", choices=("mnist", "synthetic"), default="mnist"
    )
    parser.add_argument("--output", default="samples.png")
    parser.add_argument("--num-samples", type=int, default=64)
    args = parser.parse_args()

    print(
        f"keras_vae {keras_vae.__version__}, backend {keras.backend.backend()}"
    )
    if args.data == "mnist":
        from keras_vae import datasets

        train = datasets.load_dataset(
            "mnist", "train", batch_size=128, binarization="dynamic", seed=0
        )
        x_test, _ = datasets.load_binarized_test_set("mnist")
    else:
        data = synthetic_data(12_000, seed=0)
        train, x_test = data[:10_000], data[10_000:]

    vae = mlp_vae()
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    batch_size = 128 if isinstance(train, np.ndarray) else None
    vae.fit(
        train,
        epochs=args.epochs,
        batch_size=batch_size,
        shuffle=batch_size is not None,  # A tf.data set shuffles itself.
    )

    logs = vae.evaluate(x_test, batch_size=500, verbose=0, return_dict=True)
    nll = -vae.log_likelihood(x_test[:1000], num_samples=100, seed=0).mean()
    print(
        f"test ELBO {logs['elbo']:.2f} nats, KL {logs['kl']:.2f}, "
        f"NLL (k=100, first 1,000 test images) {nll:.2f} nats"
    )
    directory = os.path.dirname(os.path.abspath(args.output))
    os.makedirs(directory, exist_ok=True)
    save_image_grid(args.output, vae.sample(args.num_samples, seed=0), scale=2)
    stem, ext = os.path.splitext(args.output)
    pairs = np.stack([x_test[:32], vae.reconstruct(x_test[:32])], axis=1)
    save_image_grid(
        f"{stem}_reconstructions{ext}",
        pairs.reshape(64, 28, 28, 1),
        columns=16,
        scale=2,
    )
    print(f"wrote {args.output} and {stem}_reconstructions{ext}")


if __name__ == "__main__":
    main()
