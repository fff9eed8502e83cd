"""The zoo's loop (train, evaluate, publish, load) with the families beyond
`VAE`: a conditional preset (labels in training, the class accuracy on its
card) and a VQ-VAE preset (reconstruction metrics, a fitted prior)."""

import json
import os

import numpy as np
import pytest

import keras_vae
from keras_vae.training import run as train
from zoo import evaluate
from zoo import publish

SPLIT = "train[:128]"


def _train_and_evaluate(name, workdir):
    train.train(
        name,
        workdir=workdir,
        epochs=1,
        split=SPLIT,
        verbose=0,
        tensorboard=True,
    )
    evaluate.main([name, "--workdir", workdir, "-k", "2", "--limit", "20"])
    with open(os.path.join(workdir, "eval.json")) as f:
        return json.load(f)


def test_a_conditional_preset(tmp_path, monkeypatch):
    # The classifier's training (a minute) is tested in test_evaluation.py.
    scores = {
        "accuracy": 0.9,
        "per_class": [0.9] * 10,
        "classifier_test_accuracy": 0.98,
        "num_samples": 10000,
        "classifier": "a stand-in classifier",
    }
    seen = []

    def class_accuracy(vae, dataset):
        seen.append((type(vae), dataset))
        return scores

    monkeypatch.setattr(evaluate, "class_accuracy", class_accuracy)
    workdir = str(tmp_path / "run")
    metrics = _train_and_evaluate("mnist_cvae", workdir)
    assert seen == [(keras_vae.ConditionalVAE, "mnist")]
    assert metrics["class_accuracy"] == scores
    assert np.isfinite(metrics["nll"])
    # The run's TensorBoard grids got the test images' labels.
    assert os.listdir(os.path.join(workdir, "logs"))
    directory = publish.publish(
        "mnist_cvae",
        workdir=workdir,
        output_root=str(tmp_path / "presets"),
        partial=True,
    )
    cvae = keras_vae.ConditionalVAE.from_preset(directory)
    assert cvae.preset_metadata["metrics"]["class_accuracy"] == scores
    assert cvae.preset_metadata["model"] == "conditional"
    sevens = cvae.sample(3, condition=7, seed=0)
    assert sevens.shape == (3, 28, 28, 1)
    with open(os.path.join(directory, "README.md")) as f:
        card = f.read()
    assert "keras_vae.ConditionalVAE.from_preset" in card
    assert "**90.00%** of 10,000 samples" in card
    assert "(its own test accuracy: 98.00%)" in card
    assert "NLL given the label" in card


def test_a_conditional_preset_needs_its_class_accuracy(tmp_path, monkeypatch):
    monkeypatch.setattr(evaluate, "class_accuracy", lambda vae, dataset: {})
    workdir = str(tmp_path / "run")
    _train_and_evaluate("mnist_cvae", workdir)
    path = os.path.join(workdir, "eval.json")
    with open(path) as f:
        metrics = json.load(f)
    del metrics["class_accuracy"]
    with open(path, "w") as f:
        json.dump(metrics, f)
    with pytest.raises(publish.PublishError, match="no class accuracy"):
        publish.publish(
            "mnist_cvae",
            workdir=workdir,
            output_root=str(tmp_path / "presets"),
            partial=True,
        )
    assert not (tmp_path / "presets").exists()


def test_a_vq_vae_preset(tmp_path):
    workdir = str(tmp_path / "run")
    metrics = _train_and_evaluate("mnist_vqvae", workdir)
    assert "nll" not in metrics
    assert metrics["codes_used"] <= 64 == metrics["num_embeddings"]
    np.testing.assert_allclose(
        metrics["psnr"], 10 * np.log10(1 / metrics["mse"]), rtol=1e-9
    )
    directory = publish.publish(
        "mnist_vqvae",
        workdir=workdir,
        output_root=str(tmp_path / "presets"),
        partial=True,
    )
    assert {"samples.png", "reconstructions.png", "reference.npz"} <= set(
        os.listdir(directory)
    )
    vqvae = keras_vae.VQVAE.from_preset(directory)
    metadata = vqvae.preset_metadata
    assert metadata["metrics"]["psnr"] == metrics["psnr"]
    # The departures do not ask for a k the model has no use for.
    assert not any("k=" in d for d in metadata["departures"])
    # Its prior was fitted on the training codes: not uniform any more.
    logits = np.asarray(vqvae.prior_logits)
    assert logits.std() > 0
    codes = vqvae.sample_codes(4, seed=0)
    assert codes.shape == (4, 16) and vqvae.decode(codes).shape == (
        4,
        28,
        28,
        1,
    )
    with open(os.path.join(directory, "README.md")) as f:
        card = f.read()
    assert "keras_vae.VQVAE.from_preset" in card and "PSNR" in card
    with pytest.raises(keras_vae.presets.PresetError, match="not a VAE"):
        keras_vae.VAE.from_preset(directory)
