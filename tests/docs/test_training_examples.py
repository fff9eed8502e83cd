"""Every example of the docs and the README that trains a VAE learns a code.

`test_code_blocks.py` checks that the blocks run, on a few hundred random
images. That does not show that an example teaches a working recipe: with
a reconstruction loss averaged over the 784 pixels against a KL summed over
the latent dimensions, a VAE runs without error and learns nothing (the KL
falls to zero, every reconstruction is the same blurred digit: posterior
collapse). Here each example that trains a VAE runs as written, except
that its `fit` gets real MNIST (a few thousand binarized training images)
and a short budget (`NUM_TRAIN` images, `EPOCHS` epochs of `BATCH_SIZE`);
then its code is measured on `NUM_TEST` test images:

- the KL from `q(z|x)` to the prior, in nats per image (the model's own
  KL for the `keras_vae` models, the closed form to `N(0, I)` for the
  layers), must be above `MIN_KL`;
- at least `MIN_ACTIVE` latent dimensions (all of them, if there are
  fewer) must be active: the mean of `q(z|x)` varies across images, with
  a variance above 0.01 (the criterion of Burda et al., 2016).

A new example that trains a VAE must be listed in `EXAMPLES`, or in
`NOT_EXAMPLES` with the reason; `test_every_training_example_is_listed`
fails otherwise.
"""

import os
import time

import keras
import numpy as np
import pytest
from _blocks import REPO
from _blocks import markdown_pages
from _blocks import python_blocks

import keras_vae
from keras_vae import datasets
from keras_vae.layers import ReparamSampling

# The budget: 5,000 binarized MNIST training images, 3 epochs of batches
# of 128 (117 steps), whatever the example's own data, epochs and batch
# size; its code is then measured on 500 test images. A collapsed model
# measures a KL under 0.01 nats and no active dimension (the last test);
# the examples measured 5.8 nats or more (the slowest to learn, the
# README's VAE), all their dimensions active, on every backend.
NUM_TRAIN = 5000
EPOCHS = 3
BATCH_SIZE = 128
NUM_TEST = 500
MIN_KL = 3.0  # nats per image
MIN_ACTIVE = 3  # active latent dimensions (or all, if fewer)
ACTIVE_VARIANCE = 0.01

# (page, a piece of code found in exactly one of its Python blocks): the
# examples that train a VAE, each trained on MNIST here.
EXAMPLES = [
    ("README.md", "GaussianEncoderHead(latent_dim=32)"),
    ("README.md", "keras_vae.VAE(\n    encoder=encoder"),
    ("docs/index.md", "keras_vae.VAE(encoder, decoder, latent_dim=2"),
    ("docs/concepts/elbo.md", "latent_dim=8, seed=0)"),
    ("docs/concepts/kl-regularizer.md", "kl_warmup_steps=20"),
    ("docs/tutorials/layers.md", "def reconstruction_loss"),
    ("docs/tutorials/layers.md", "class TinyVAE"),
    ("docs/tutorials/tfp-migration.md", 'NegativeLogLikelihood("bernoulli")'),
    (
        "docs/tutorials/tfp-migration.md",
        "InverseAutoregressiveFlow(latent_dim)",
    ),
    ("docs/tutorials/choosing.md", "MixtureOfGaussians(num_components=10)"),
    ("docs/tutorials/anomaly.md", "labels != 9"),
    ("docs/tutorials/conditional.md", "keras_vae.ConditionalVAE("),
    ("docs/tutorials/family.md", "keras_vae.HierarchicalVAE("),
    ("docs/tutorials/objectives.md", "BetaTCVAE("),
    ("docs/tutorials/objectives.md", "objectives.MMD("),
    ("docs/tutorials/own-data.md", "load_dataset("),
    ("docs/tutorials/multi-device.md", "DataParallel("),
    ("docs/tutorials/multi-device.md", "MirroredStrategy()"),
    ("docs/tutorials/export.md", 'format="onnx"'),
]

# Blocks that call `fit` but are not examples to train on MNIST here.
NOT_EXAMPLES = {
    ("docs/tutorials/layers.md", "classifier.fit("): (
        "a classifier with a variational bottleneck, on random features"
    ),
    ("docs/tutorials/tfp-migration.md", 'variance="predicted"'): (
        "a regression with a predicted variance, not a VAE"
    ),
    ("docs/tutorials/own-data.md", "keras.Input((10,))"): (
        "10 columns of tabular data, not images"
    ),
    ("docs/tutorials/family.md", "keras_vae.VQVAE("): (
        "discrete codes, no KL term that could collapse"
    ),
    ("docs/tutorials/finetune.md", "vae.fit(x, batch_size=128"): (
        "fine-tunes a trained preset, whose code is already learned"
    ),
}

_IMAGES = (28, 28, 1)

# Every example trains on JAX, the quickest backend here for these small
# models (torch took 3 to 5 times as long); the others train only the
# examples written for them. KERAS_VAE_TRAIN_ALL_EXAMPLES=1 trains every
# example on any backend.
ALL_EXAMPLES = (
    keras.backend.backend() == "jax"
    or os.environ.get("KERAS_VAE_TRAIN_ALL_EXAMPLES") == "1"
)


def _read(name):
    return dict(markdown_pages())[name]


def _blocks_of(name):
    with open(_read(name)) as f:
        return python_blocks(f.read(), name)


def _index_of(blocks, name, snippet):
    found = [i for i, block in enumerate(blocks) if snippet in block.code]
    assert len(found) == 1, (
        f"{name}: {len(found)} Python blocks contain {snippet!r}; exactly "
        "one should (update EXAMPLES or NOT_EXAMPLES)"
    )
    return found[0]


def test_every_training_example_is_listed():
    listed = set()
    for name, snippet in list(EXAMPLES) + list(NOT_EXAMPLES):
        blocks = _blocks_of(name)
        listed.add(blocks[_index_of(blocks, name, snippet)].source)
    unlisted = [
        block.source
        for name, _ in markdown_pages()
        for block in _blocks_of(name)
        if ".fit(" in block.code and block.source not in listed
    ]
    assert not unlisted, (
        "These blocks call fit() but are neither in EXAMPLES (trained on "
        f"MNIST by this test) nor in NOT_EXAMPLES: {unlisted}"
    )


@pytest.fixture(scope="module")
def mnist():
    images, labels = datasets.load("mnist", "train")
    train = datasets.binarize(images[:NUM_TRAIN], seed=0)
    test, test_labels = datasets.load_binarized_test_set("mnist")
    return {
        "train": (train, labels[:NUM_TRAIN].astype("int32")),
        "test": (test[:NUM_TEST], test_labels[:NUM_TEST].astype("int32")),
    }


def _is_images(value):
    return getattr(value, "shape", None) is not None and (
        tuple(value.shape[1:]) == _IMAGES
    )


class _MnistFit:
    """Replaces the data of the outermost `fit` call with MNIST.

    Patched over `keras.Model.fit` and the `keras_vae` models' own `fit`;
    the calls those make to the `fit` of their parents pass through.
    """

    def __init__(self, data):
        self.data = data
        self.depth = 0
        self.models = []
        self.seconds = 0.0

    def patch(self, monkeypatch):
        for cls in (keras.Model, keras_vae.VAE, keras_vae.ConditionalVAE):
            monkeypatch.setattr(cls, "fit", self._wrap(cls.fit))

    def _wrap(self, fit):
        def wrapper(model, x=None, y=None, *args, **kwargs):
            if self.depth:
                return fit(model, x, y, *args, **kwargs)
            assert not args, "the examples pass fit's options by name"
            x, y, kwargs = self._substitute(x, y, kwargs)
            self.depth += 1
            start = time.perf_counter()
            try:
                return fit(model, x, y, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start
                self.depth -= 1
                self.models.append(model)

        return wrapper

    def _substitute(self, x, y, kwargs):
        images, labels = self.data["train"]
        test_images, _ = self.data["test"]
        kwargs = {
            **kwargs,
            "epochs": EPOCHS,
            "batch_size": BATCH_SIZE,
            "verbose": 0,
        }
        if isinstance(x, tuple) and _is_images(x[0]):  # (images, labels)
            assert x[1].ndim == 1, "conditions other than labels"
            new_x, new_y = (images, labels), None
        elif _is_images(x):
            new_x = images
            new_y = images if y is not None and _is_images(y) else None
            assert y is None or new_y is not None, "targets other than x"
        else:  # a tf.data.Dataset of images
            import tensorflow as tf

            assert isinstance(x, tf.data.Dataset), type(x)
            assert tuple(x.element_spec.shape[1:]) == _IMAGES
            new_x, new_y = images, None
            kwargs["shuffle"] = True
        if "validation_data" in kwargs:
            kwargs["validation_data"] = (test_images[:200],)
        return new_x, new_y, kwargs


def _gaussian_of(model, x, labels):
    """The mean and log-variance of `q(z|x)` for each image: numpy."""
    if isinstance(model, keras_vae.ConditionalVAE):
        return model.encode(x, condition=labels)
    if isinstance(model, keras_vae.VAE):
        return model.encode(x)
    # A model built from the layers: what its sampling layer is given.
    seen = []
    original = ReparamSampling.call

    def call(layer, inputs, *args, **kwargs):
        seen.append([keras.ops.convert_to_numpy(t) for t in inputs])
        return original(layer, inputs, *args, **kwargs)

    ReparamSampling.call = call
    try:
        model(x, training=False)
    finally:
        ReparamSampling.call = original
    assert len(seen) == 1, f"{len(seen)} ReparamSampling layers called"
    return seen[0]


def _kl(model, x, labels, mean, log_var):
    """Nats per image: the model's own KL, or the closed form to N(0, I).

    Not through `evaluate` for a model built in a `tf.distribute` scope:
    TensorFlow 2.21 can crash (a segfault, once in a full suite) when Keras
    drops the distributed iterator of `fit` at the start of `evaluate`. The
    example's prior is the standard normal, which the closed form is.
    """
    distributed = getattr(model, "_distribute_strategy", None) is not None
    if isinstance(model, keras_vae.VAE) and not distributed:
        data = (x, labels) if isinstance(model, keras_vae.ConditionalVAE) else x
        return model.evaluate(
            data, batch_size=250, verbose=0, return_dict=True
        )["kl"]
    kl = 0.5 * (mean**2 + np.exp(log_var) - 1.0 - log_var)
    return float(np.mean(np.sum(kl, axis=-1)))


def _run_blocks(blocks, fit, tmp_path, monkeypatch):
    """Runs the blocks in one namespace, as `test_code_blocks.py` does; the
    last one with its `fit` given MNIST."""
    monkeypatch.chdir(tmp_path)
    path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", REPO + (os.pathsep + path if path else ""))
    namespace = {"__name__": "__docs__"}
    for i, block in enumerate(blocks):
        if block.skip_reason(keras.backend.backend()) is not None:
            continue  # As there: the blocks after it do not depend on it.
        with monkeypatch.context() as patch:
            if i == len(blocks) - 1:
                fit.patch(patch)
            exec(compile(block.code, block.source, "exec"), namespace)


def measure(model, data):
    x, labels = data["test"]
    mean, log_var = (np.asarray(v) for v in _gaussian_of(model, x, labels))
    active = int(np.sum(np.var(mean, axis=0) > ACTIVE_VARIANCE))
    kl = float(_kl(model, x, labels, mean, log_var))
    return {"kl": kl, "active": active, "latent_dim": mean.shape[-1]}


@pytest.mark.large
@pytest.mark.parametrize(
    "name,snippet",
    EXAMPLES,
    ids=[f"{name}:{snippet.splitlines()[0]}" for name, snippet in EXAMPLES],
)
def test_example_learns_a_code_on_mnist(
    name, snippet, mnist, tmp_path, monkeypatch
):
    blocks = _blocks_of(name)
    index = _index_of(blocks, name, snippet)
    backend = keras.backend.backend()
    reason = blocks[index].skip_reason(backend)
    if reason is not None:
        pytest.skip(reason)
    if not ALL_EXAMPLES and not blocks[index].backends:
        pytest.skip(
            f"{blocks[index].source}: not written for a particular backend; "
            "trained on jax (KERAS_VAE_TRAIN_ALL_EXAMPLES=1: here too)"
        )
    fit = _MnistFit(mnist)
    _run_blocks(blocks[: index + 1], fit, tmp_path, monkeypatch)
    assert len(fit.models) == 1, f"{len(fit.models)} calls to fit"
    stats = measure(fit.models[0], mnist)
    needed = min(MIN_ACTIVE, stats["latent_dim"])
    print(
        f"{blocks[index].source}: KL {stats['kl']:.1f} nats, "
        f"{stats['active']} of {stats['latent_dim']} dimensions active, "
        f"fit {fit.seconds:.1f} s"
    )
    assert stats["kl"] > MIN_KL and stats["active"] >= needed, (
        f"The example at {blocks[index].source}, trained on "
        f"{NUM_TRAIN} MNIST images for {EPOCHS} epochs, collapsed: "
        f"KL {stats['kl']:.2f} nats per image (needs > {MIN_KL}), "
        f"{stats['active']} active dimensions of {stats['latent_dim']} "
        f"(needs >= {needed}). Is its reconstruction loss summed over the "
        "pixels, like the KL over the latent dimensions?"
    )


# The README's first example before issue 15: the cross-entropy averaged
# over the pixels, against the KL summed over the latent dimensions.
COLLAPSING = """
import keras
import numpy as np
import keras_vae

inputs = keras.Input((28, 28, 1))
h = keras.layers.Flatten()(inputs)
h = keras.layers.Dense(256, activation="relu")(h)
mean, log_var = keras_vae.layers.GaussianEncoderHead(latent_dim=32)(h)
z = keras_vae.layers.ReparamSampling(kl_weight=1.0, seed=0)([mean, log_var])
h = keras.layers.Dense(256, activation="relu")(z)
outputs = keras.layers.Reshape((28, 28, 1))(
    keras.layers.Dense(784, activation="sigmoid")(h)
)
model = keras.Model(inputs, outputs)
model.compile(optimizer="adam", loss="binary_crossentropy")
x = (np.random.rand(512, 28, 28, 1) > 0.5).astype("float32")
model.fit(x, x, epochs=1, batch_size=128, verbose=0)
"""


@pytest.mark.large
def test_a_loss_averaged_over_pixels_is_caught(mnist, tmp_path, monkeypatch):
    """The measure tells a collapsed model: the old README example."""
    if not ALL_EXAMPLES:
        pytest.skip("trained on jax, with the examples")
    fit = _MnistFit(mnist)
    block = python_blocks(f"```python\n{COLLAPSING}```\n", "old README")[0]
    _run_blocks([block], fit, tmp_path, monkeypatch)
    stats = measure(fit.models[0], mnist)
    print(
        f"old README example: KL {stats['kl']:.3f} nats, "
        f"{stats['active']} of {stats['latent_dim']} dimensions active"
    )
    assert stats["kl"] < 0.1 * MIN_KL and stats["active"] == 0, stats
