"""`keras_vae.evaluation.class_accuracy`: an independent classifier judges a
conditional VAE's samples. Its CNN trains for a minute on the 60,000
MNIST training images: the file runs with jax only (scripts/test.sh),
the Keras code being the same on every backend; a ConditionalVAE's
sampling is tested on all three (test_conditional_vae.py)."""

import numpy as np
import pytest

import keras_vae


def test_class_accuracy_counts_the_class_asked_for(monkeypatch):
    # A "generator" that draws real test images: of the class asked for
    # for the even classes, of the next class for the odd ones. The
    # accuracy must follow: the classifier's for the even classes, about
    # none for the odd ones.
    from keras_vae import datasets
    from keras_vae.evaluation import class_accuracy

    images, labels = datasets.load("mnist", "test")
    # The classifier learns from 20,000 training images: a third of the
    # minute all 60,000 take.
    load = datasets.load

    def fewer(name, split="train", **kwargs):
        x, y = load(name, split, **kwargs)
        return (x[:20000], y[:20000]) if split == "train" else (x, y)

    monkeypatch.setattr(datasets, "load", fewer)
    cvae = keras_vae.ConditionalVAE.mlp(
        (28, 28, 1), latent_dim=2, num_classes=10
    )

    def sample(n, condition, seed=None):
        condition = np.asarray(condition)
        drawn = np.where(condition % 2 == 0, condition, (condition + 1) % 10)
        rng = np.random.default_rng(0)
        picks = [rng.choice(np.flatnonzero(labels == c)) for c in drawn]
        return images[picks]

    monkeypatch.setattr(cvae, "sample", sample)
    scores = class_accuracy(
        cvae, "mnist", samples_per_class=40, classifier_epochs=1, verbose=0
    )
    assert scores["num_samples"] == 400
    assert scores["classifier_test_accuracy"] > 0.9
    even, odd = scores["per_class"][::2], scores["per_class"][1::2]
    assert min(even) > 0.85 and max(odd) < 0.15
    np.testing.assert_allclose(scores["accuracy"], np.mean(scores["per_class"]))


def test_class_accuracy_needs_a_conditional_vae_of_the_classes():
    from keras_vae.evaluation import class_accuracy

    with pytest.raises(ValueError, match="ConditionalVAE of the 10 classes"):
        class_accuracy(object(), "mnist")
    cvae = keras_vae.ConditionalVAE.mlp(
        (28, 28, 1), latent_dim=2, num_classes=3
    )
    with pytest.raises(ValueError, match="num_classes=3"):
        class_accuracy(cvae, "mnist")
    with pytest.raises(ValueError, match="samples_per_class"):
        class_accuracy(cvae, "mnist", samples_per_class=0)
