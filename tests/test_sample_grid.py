"""SampleGrid writes the model's own grids to TensorBoard, on schedule,
into one event file across `fit` calls."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_vae
from keras_vae.callbacks import SampleGrid
from keras_vae.utils import image_grid


def _events(log_dir):
    """`{(tag, step): image array}` of every image summary, and the event
    files."""
    directory = os.path.join(log_dir, "images")
    files = sorted(os.listdir(directory))
    images = {}
    for name in files:
        path = os.path.join(directory, name)
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                encoded = tf.make_ndarray(value.tensor)[2]
                image = tf.io.decode_png(encoded).numpy()
                images[(value.tag, event.step)] = image
    return images, files


def _vae():
    encoder = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(16, activation="relu"),
        ]
    )
    decoder = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(64),
            keras.layers.Reshape((8, 8, 1)),
        ]
    )
    vae = keras_vae.VAE(encoder, decoder, latent_dim=3, seed=0)
    vae.compile(optimizer="adam")
    return vae


def _data(n=32):
    rng = np.random.default_rng(0)
    return (rng.random((n, 8, 8, 1)) > 0.5).astype("float32")


def test_grids_are_the_models_own_images(tmp_path):
    vae = _vae()
    x = _data()
    grid = SampleGrid(
        tmp_path, num_samples=9, inputs=x[:3], traverse_dims=[0, 2]
    )
    # A loop of one-epoch fits, as the zoo trains: one event file.
    for epoch in range(2):
        vae.fit(
            x,
            epochs=epoch + 1,
            initial_epoch=epoch,
            verbose=0,
            callbacks=[grid],
        )
    grid.close()
    images, files = _events(tmp_path)
    assert len(files) == 1, files
    assert sorted(images) == sorted(
        (tag, step)
        for tag in ("samples", "reconstructions", "traversal")
        for step in (1, 2)
    )
    expected = {
        "samples": image_grid(vae.sample(9, seed=0)),
        "reconstructions": image_grid(
            np.stack([x[:3], vae.reconstruct(x[:3])], 1).reshape((6, 8, 8, 1)),
            columns=6,
        ),
        "traversal": image_grid(
            vae.traverse(x[0], [0, 2]).reshape((14, 8, 8, 1)), columns=7
        ),
    }
    for tag, image in expected.items():
        np.testing.assert_array_equal(images[(tag, 2)][..., 0], image)
    # The model changed between the epochs; the noise did not.
    assert not np.array_equal(images[("samples", 1)], images[("samples", 2)])


def test_every_n_epochs_and_conditional_models(tmp_path):
    cvae = keras_vae.ConditionalVAE.mlp(
        (8, 8, 1), latent_dim=2, num_classes=3, hidden_units=(8,), seed=0
    )
    cvae.compile(optimizer="adam")
    x = _data()
    labels = np.arange(len(x)) % 3
    grid = SampleGrid(
        tmp_path,
        every_n_epochs=2,
        num_samples=4,
        inputs=(x[:2], labels[:2]),
        traverse_dims=[1],
        condition=2,
    )
    cvae.fit((x, labels), epochs=2, verbose=0, callbacks=[grid])
    grid.close()
    images, _ = _events(tmp_path)
    assert {step for _, step in images} == {2}
    np.testing.assert_array_equal(
        images[("samples", 2)][..., 0],
        image_grid(cvae.sample(4, condition=2, seed=0)),
    )
    np.testing.assert_array_equal(
        images[("traversal", 2)][..., 0],
        image_grid(cvae.traverse(x[0], [1], condition=0)[0], columns=7),
    )


def test_errors():
    with pytest.raises(ValueError, match="every_n_epochs=0"):
        SampleGrid("logs", every_n_epochs=0)
    with pytest.raises(ValueError, match=r"Received shape \(5,\)"):
        SampleGrid("logs", inputs=np.zeros(5))
    with pytest.raises(ValueError, match="pair"):
        SampleGrid("logs", inputs=(np.zeros((2, 3)),) * 3)
