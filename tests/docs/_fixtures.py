"""Helpers shared by the docs tests: the docs hook, fake presets."""

import importlib.util
import json
import os

import numpy as np
from _blocks import DOCS


def load_hook():
    spec = importlib.util.spec_from_file_location(
        "docs_hook", os.path.join(DOCS, "hooks", "generated.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_fake_preset(root, name, latent_dim=2):
    """A preset directory as zoo.publish writes it, without a model: the
    zoo page only reads metadata.json and the images."""
    from PIL import Image

    directory = os.path.join(root, name)
    os.makedirs(directory)
    rng = np.random.default_rng(0)
    images = ["samples.png", "reconstructions.png"]
    if latent_dim == 2:
        images.append("latent_plane.png")
    for image in images:
        pixels = (rng.random((60, 120)) * 255).astype("uint8")
        Image.fromarray(pixels).save(os.path.join(directory, image))
    metadata = {
        "name": name,
        "description": f"A fake preset for the tests ({latent_dim}-d).",
        "dataset": "mnist",
        "latent_dim": latent_dim,
        "architecture": "mlp",
        "architecture_kwargs": {"hidden": [512, 256]},
        "objective": "elbo",
        "num_samples": 1,
        "parameters": 1_068_820,
        "metrics": {
            "nll": 88.5,
            "nll_standard_error": 0.27,
            "elbo": -92.25,
            "kl": 25.5,
            "reconstruction": 66.75,
            "num_importance_samples": 5000,
            "eval_seconds": 1234.5,
        },
        "training": {
            "command": f"python -m zoo.train {name}",
            "epochs": 400,
            "split": "train",
            "seed": 0,
            "wall_time_s": 36000.0,
            "stopped_s": 1800.0,
            "notes": ["Epoch 3 includes a pause."],
            "backend": "jax",
            "hardware": "2-core CPU",
        },
        "keras_vae_version": "0.1.0",
        "keras_version": "3.15.1",
        "date": "2026-11-24",
        "files": {},
    }
    with open(os.path.join(directory, "metadata.json"), "w") as f:
        json.dump(metadata, f)
    return directory


def make_tiny_preset(root, name, latent_dim, dataset="mnist", family="vae"):
    """An untrained model saved as a preset, with zoo-like metadata: an MLP
    `VAE`, or for `family` `"conditional"` a `ConditionalVAE` of 10
    classes, for `"vq"` a `VQVAE` of 16 codes of size `latent_dim`."""
    import keras

    import keras_vae

    metadata = {
        "name": name,
        "description": "tiny test preset",
        "dataset": dataset,
        "latent_dim": latent_dim,
        "model": family,
        "metrics": {"nll": 500.0, "num_importance_samples": 5},
    }
    inputs = keras.Input((28, 28, 1))
    features = keras.layers.Dense(16, activation="relu")(
        keras.layers.Flatten()(inputs)
    )
    if family == "conditional":
        vae = keras_vae.ConditionalVAE.mlp(
            (28, 28, 1),
            latent_dim=latent_dim,
            num_classes=10,
            hidden_units=(16,),
            seed=0,
        )
        vae(vae._dummy_inputs((28, 28, 1)))
        metadata["metrics"]["class_accuracy"] = {
            "accuracy": 0.1,
            "per_class": [0.1] * 10,
            "classifier_test_accuracy": 0.9,
            "num_samples": 100,
            "classifier": "a stand-in",
        }
        return vae.save_to_preset(os.path.join(root, name), metadata=metadata)
    if family == "vq":
        codes = keras.layers.Reshape((16, latent_dim))(
            keras.layers.Dense(16 * latent_dim)(features)
        )
        encoder = keras.Model(inputs, codes)
        quantized = keras.Input((16, latent_dim))
        logits = keras.layers.Reshape((28, 28, 1))(
            keras.layers.Dense(784)(keras.layers.Flatten()(quantized))
        )
        decoder = keras.Model(quantized, logits)
        vq = keras_vae.VQVAE(
            encoder,
            decoder,
            num_embeddings=8,
            embedding_dim=latent_dim,
            likelihood="bernoulli",
            seed=0,
        )
        vq(np.zeros((1, 28, 28, 1), "float32"))
        metadata["metrics"] = {
            "reconstruction": 500.0,
            "psnr": 5.0,
            "mse": 0.3,
            "codes_used": 8,
            "num_embeddings": 8,
            "perplexity": 8.0,
        }
        return vq.save_to_preset(os.path.join(root, name), metadata=metadata)
    encoder = keras.Model(inputs, features)
    latent = keras.Input((latent_dim,))
    logits = keras.layers.Reshape((28, 28, 1))(keras.layers.Dense(784)(latent))
    decoder = keras.Model(latent, logits)
    vae = keras_vae.VAE(encoder, decoder, latent_dim=latent_dim, seed=0)
    vae(np.zeros((1, 28, 28, 1), "float32"))
    return vae.save_to_preset(os.path.join(root, name), metadata=metadata)
