"""Fixtures of the zoo tests."""

import pytest

from keras_vae.training import run as train
from zoo import evaluate


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A tiny trained and evaluated run of the mnist_mlp_2 config."""
    workdir = str(tmp_path_factory.mktemp("run"))
    train.train(
        "mnist_mlp_2",
        workdir=workdir,
        epochs=1,
        split="train[:256]",
        verbose=0,
        tensorboard=False,
    )
    evaluate.main(
        ["mnist_mlp_2", "--workdir", workdir, "-k", "5", "--limit", "40"]
    )
    return workdir
