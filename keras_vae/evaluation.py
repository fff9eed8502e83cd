"""Evaluation of VAEs on the standard likelihood protocol.

`evaluate` measures one model; `compare` tells whether one model beats
another on the same test images.
"""

import math
import time

import keras

from keras_vae import _validation
from keras_vae import datasets
from keras_vae.datasets import _registry
from keras_vae.models.vae import VAE

__all__ = ["DEFAULT_NUM_SAMPLES", "compare", "evaluate"]

DEFAULT_NUM_SAMPLES = 5000
"""Importance samples per test image, as in Burda et al. (2015)."""


def evaluate(
    vae,
    dataset,
    num_samples=DEFAULT_NUM_SAMPLES,
    batch_size=100,
    seed=0,
    verbose="auto",
    limit=None,
    progress_path=None,
):
    """Evaluates a VAE on the fixed binarized test set of `dataset`.

    Args:
        vae: a `keras_vae.VAE` with a Bernoulli likelihood (a
            `ConditionalVAE` with `num_classes` is given the test labels:
            its NLL is `-log p(x | label)`).
        dataset: str. `"mnist"` or `"fashion_mnist"`.
        num_samples: int. Importance samples per image, default 5000.
        batch_size: int. Test images per step.
        seed: int in [0, 2**32). Seed of the importance samples.
        verbose: progress bar setting of `VAE.log_likelihood`.
        limit: int or None. Evaluate on the first `limit` images only.
        progress_path: str or None. Where to save the progress of the
            importance-sampling estimate after every step, so that the same
            call, stopped and started again, continues where it was (see
            `VAE.log_likelihood`). Not on several processes.

    On several processes (after `keras_vae.training.distributed.initialize`,
    e.g. `keras-vae evaluate PRESET --coordinator ...`), each process
    estimates the log-likelihoods of its share of the images, with exactly
    the draws one process would give them, and every process returns the
    same result as one process would (the ELBO terms, one quick pass, are
    computed by each).

    Returns:
        A dict: `nll` (importance-weighted estimate of -log p(x)) and its
        `nll_standard_error` (over the images; None for one image), `elbo`,
        `kl`, `reconstruction` (nats per image), `seconds` (including the
        time of earlier, stopped calls resumed from `progress_path`), and
        `protocol` (data set, binarization, k...).

    Raises:
        ValueError: If `dataset` is not a known data set, `num_samples`,
            `batch_size` or `limit` is not a positive integer, or `seed` is
            not an integer in [0, 2**32).

    Example:

    ```python
    import keras
    import keras_vae
    from keras_vae.evaluation import evaluate

    # Any VAE for 28x28x1 images, e.g. `keras_vae.VAE.from_preset(name)`;
    # here an untrained one, on the first 100 test images, k=10: a quick
    # check. The published figures use k=5000 on all 10,000 images.
    encoder = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(),
         keras.layers.Dense(64, activation="relu")]
    )
    decoder = keras.Sequential(
        [keras.Input((8,)), keras.layers.Dense(784),
         keras.layers.Reshape((28, 28, 1))]
    )
    vae = keras_vae.VAE(encoder, decoder, latent_dim=8, seed=0)
    metrics = evaluate(vae, "mnist", num_samples=10, limit=100, verbose=0)
    print(metrics["nll"], metrics["nll_standard_error"])  # nats per image
    ```
    """
    x, labels = _test_images(dataset, limit, num_samples, batch_size, seed)
    x = vae._labelled(x, labels)  # A conditional model's (x, labels).
    began = time.time()
    if not getattr(vae, "compiled", False):
        vae.compile()  # For `evaluate`'s metrics; the optimizer is unused.
    logs = vae.evaluate(x, batch_size=500, verbose=0, return_dict=True)
    log_px, seconds_before = _log_likelihood(
        vae, x, num_samples, batch_size, seed, verbose, progress_path
    )
    seconds = time.time() - began + seconds_before
    return {
        "nll": float(-log_px.mean()),
        "nll_standard_error": _standard_error(log_px),
        "elbo": float(logs["elbo"]),
        "kl": float(logs["kl"]),
        "reconstruction": float(logs["reconstruction"]),
        "seconds": round(seconds, 1),
        # A conditional model's `x` is `(images, labels)`: count images.
        "protocol": _protocol(dataset, len(_images_of(x)), num_samples, seed),
    }


def compare(
    vae_a,
    vae_b,
    dataset,
    num_samples=1000,
    batch_size=100,
    seed=0,
    verbose="auto",
    limit=None,
):
    """Compares the test NLLs of two VAEs image by image (a paired test).

    Two models evaluated on the same test images differ by much less than
    the spread of the images' NLLs: the standard error of each model's NLL
    (a few tenths of a nat on 10,000 images) says how well the mean over
    *all* such images is known, not whether one model beats the other on
    *these* images. This estimates `log p(x)` of every test image under both
    models (importance sampling with `num_samples` samples, as `evaluate`)
    and reports the mean of the per-image differences with its own standard
    error, the right error bar for "is A better than B?".

    Both estimates are lower bounds of `log p(x)` that tighten as
    `num_samples` grows; with the same `num_samples` the comparison is fair
    to both, but the difference may change slightly at a larger `k`.

    Args:
        vae_a: a `keras_vae.VAE` with a Bernoulli likelihood.
        vae_b: another one, for the same images.
        dataset: str. `"mnist"` or `"fashion_mnist"`.
        num_samples: int. Importance samples per image and model, default
            1000.
        batch_size: int. Test images per step.
        seed: int in [0, 2**32). Seed of the importance samples; both
            models get the same.
        verbose: progress bar setting of `VAE.log_likelihood`.
        limit: int or None. Compare on the first `limit` images only, at
            least 2.

    Returns:
        A dict, in nats per image: `nll_a` and `nll_b`; `difference`,
        `nll_a - nll_b` (negative when A is better) and its
        `difference_standard_error`; `a_better_fraction` and
        `b_better_fraction`, the fractions of the images to which A (B)
        gives the higher likelihood (the rest are ties); `seconds` and
        `protocol` (as `evaluate`'s).

    Raises:
        TypeError: If `vae_a` or `vae_b` is not a `keras_vae.VAE`.
        ValueError: If an argument is invalid (see `evaluate`), or `limit`
            is 1.

    Example:

    ```python
    import keras
    import keras_vae
    from keras_vae.evaluation import compare

    def tiny_vae(width):
        encoder = keras.Sequential(
            [keras.Input((28, 28, 1)), keras.layers.Flatten(),
             keras.layers.Dense(width, activation="relu")]
        )
        decoder = keras.Sequential(
            [keras.Input((8,)), keras.layers.Dense(784),
             keras.layers.Reshape((28, 28, 1))]
        )
        return keras_vae.VAE(encoder, decoder, latent_dim=8, seed=0)

    # E.g. two presets, `keras_vae.VAE.from_preset(name)`; here two
    # untrained models, on the first 100 test images, k=10.
    result = compare(
        tiny_vae(32), tiny_vae(64), "mnist", num_samples=10, limit=100,
        verbose=0,
    )
    print(result["difference"], "+/-", result["difference_standard_error"])
    ```
    """
    for argument, vae in (("vae_a", vae_a), ("vae_b", vae_b)):
        if not isinstance(vae, VAE):
            raise TypeError(
                f"`{argument}` must be a `keras_vae.VAE`. Received: "
                f"{argument} of type {type(vae).__name__}"
            )
    x, labels = _test_images(
        dataset, limit, num_samples, batch_size, seed, minimum=2
    )
    began = time.time()
    log_px = {}
    for key, vae in (("a", vae_a), ("b", vae_b)):
        log_px[key], _ = _log_likelihood(
            vae,
            vae._labelled(x, labels),
            num_samples,
            batch_size,
            seed,
            verbose,
            None,
        )
    difference = log_px["b"] - log_px["a"]  # NLL(a) - NLL(b), per image.
    return {
        "nll_a": float(-log_px["a"].mean()),
        "nll_b": float(-log_px["b"].mean()),
        "difference": float(difference.mean()),
        "difference_standard_error": _standard_error(difference),
        "a_better_fraction": float((log_px["a"] > log_px["b"]).mean()),
        "b_better_fraction": float((log_px["b"] > log_px["a"]).mean()),
        "seconds": round(time.time() - began, 1),
        "protocol": _protocol(dataset, len(x), num_samples, seed),
    }


def _test_images(dataset, limit, num_samples, batch_size, seed, minimum=1):
    """The first `limit` fixed binarized test images of `dataset` and their
    labels, after checking every argument (before any long computation
    starts)."""
    _registry.get_spec(dataset, argument="dataset")
    _validation.positive_int("num_samples", num_samples)
    _validation.positive_int("batch_size", batch_size)
    _validation.seed("seed", seed, allow_none=False)
    if limit is not None:
        limit = _validation.positive_int("limit", limit)
        if limit < minimum:
            raise ValueError(
                f"`limit` must be at least {minimum} here: a standard error "
                f"needs {minimum} images. Received: limit={limit}"
            )
    x, labels = datasets.load_binarized_test_set(dataset)
    if limit is not None:
        x, labels = x[:limit], labels[:limit]
    return x, labels


def _log_likelihood(
    vae, x, num_samples, batch_size, seed, verbose, progress_path
):
    """Per-image `log p(x)`, and the seconds of earlier, resumed calls;
    shared between the processes of a multi-process run."""
    from keras_vae.training import distributed

    weights_model = vae._importance_weights(
        num_samples, batch_size, samples_per_step=None, seed=seed
    )
    shard = distributed.shard()
    if shard is not None:
        if progress_path is not None:
            raise ValueError(
                "`progress_path` saves the progress of one process; on "
                f"{shard[1]} processes, evaluate without it. Received: "
                f"progress_path={progress_path!r}"
            )
        rows, values = weights_model.log_likelihood(
            vae._as_inputs(x),
            num_samples,
            batch_size=batch_size,
            verbose=verbose if shard[0] == 0 else 0,
            shard=shard,
        )
        return distributed.gather(rows, values, len(_images_of(x))), 0.0
    log_px = weights_model.log_likelihood(
        vae._as_inputs(x),  # The checks of `VAE.log_likelihood`.
        num_samples,
        batch_size=batch_size,
        verbose=verbose,
        progress_path=progress_path,
    )
    return log_px, weights_model.seconds_before


def _images_of(x):
    """The images of `x` or of a conditional model's `(x, labels)`."""
    return x[0] if isinstance(x, tuple) else x


def _standard_error(values):
    """The standard error of the mean of `values`; None for one value (a
    None, unlike a NaN, writes valid JSON)."""
    if len(values) < 2:
        return None
    return float(values.std(ddof=1) / math.sqrt(len(values)))


def _protocol(dataset, num_images, num_samples, seed):
    return {
        "dataset": dataset,
        "split": "test",
        "num_images": int(num_images),
        "binarization": (
            "fixed stochastic binarization, seed "
            f"{datasets.FIXED_BINARIZATION_SEED} "
            "(keras_vae.datasets.load_binarized_test_set)"
        ),
        "num_importance_samples": int(num_samples),
        "importance_sampling_seed": int(seed),
        "units": "nats per image",
        "backend": keras.backend.backend(),
    }


def _classifier(num_classes, seed):
    """A small convolutional classifier of 28x28x1 images (two strided
    convolutions, one dense layer)."""
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(32, 3, strides=2, activation="relu"),
            keras.layers.Conv2D(64, 3, strides=2, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(num_classes),
        ],
        name="judge",
    )


def class_accuracy(
    vae,
    dataset,
    samples_per_class=1000,
    classifier_epochs=5,
    seed=0,
    verbose="auto",
):
    """Does a conditional VAE draw the class it is asked for?

    An independent classifier (a small CNN) is trained on the training
    images of `dataset` (grey levels in [0, 1], `classifier_epochs`
    epochs) and its own accuracy measured on the test images. It then
    labels `samples_per_class` samples of every class of `vae`: prior
    draws decoded with the class as the condition, to the mean of
    p(x|z, c) (pixel probabilities). The score is the fraction it assigns
    to the class asked for.

    Args:
        vae: a `keras_vae.ConditionalVAE` with `num_classes` equal to the
            data set's number of classes.
        dataset: str. `"mnist"` or `"fashion_mnist"`.
        samples_per_class: int > 0. Samples asked for per class (default
            1000: 10,000 for ten classes).
        classifier_epochs: int > 0. Training epochs of the classifier.
        seed: int. Seed of the classifier's weights and of the samples.
        verbose: `"auto"`, 0, 1 or 2: the classifier's training progress.

    Returns:
        A dict: `accuracy` (of the samples), `per_class` (list, one
        accuracy per class), `classifier_test_accuracy`, `num_samples`,
        `classifier` (what it is).

    Raises:
        ValueError: `vae` is not a `ConditionalVAE` of the data set's
            classes, or bad arguments.

    Example:

    ```python
    import keras_vae
    from keras_vae.evaluation import class_accuracy

    cvae = keras_vae.ConditionalVAE.mlp(
        (28, 28, 1), latent_dim=8, num_classes=10
    )
    # ... cvae.fit(...) on MNIST with its labels, then:
    scores = class_accuracy(cvae, "mnist", samples_per_class=10,
                            classifier_epochs=1)
    print(scores["accuracy"], scores["classifier_test_accuracy"])
    ```
    """
    import numpy as np

    from keras_vae.models.conditional_vae import ConditionalVAE

    samples_per_class = _validation.positive_int(
        "samples_per_class", samples_per_class
    )
    classifier_epochs = _validation.positive_int(
        "classifier_epochs", classifier_epochs
    )
    train_x, train_y = datasets.load(dataset, "train")
    num_classes = int(train_y.max()) + 1
    if not isinstance(vae, ConditionalVAE) or vae.num_classes != num_classes:
        raise ValueError(
            "`vae` must be a keras_vae.ConditionalVAE of the "
            f"{num_classes} classes of {dataset}. Received: "
            f"{type(vae).__name__} with num_classes="
            f"{getattr(vae, 'num_classes', None)!r}"
        )
    test_x, test_y = datasets.load(dataset, "test")
    judge = _classifier(num_classes, seed)
    judge.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    judge.fit(  # `load` gives grey levels in [0, 1].
        train_x,
        train_y,
        epochs=classifier_epochs,
        batch_size=128,
        verbose=verbose,
    )
    test_accuracy = judge.evaluate(test_x, test_y, batch_size=500, verbose=0)[1]
    asked = np.repeat(np.arange(num_classes), samples_per_class)
    samples = vae.sample(len(asked), condition=asked, seed=seed)
    seen = np.argmax(judge.predict(samples, batch_size=500, verbose=0), 1)
    return {
        "accuracy": float(np.mean(seen == asked)),
        "per_class": [
            float(np.mean(seen[asked == c] == c)) for c in range(num_classes)
        ],
        "classifier_test_accuracy": float(test_accuracy),
        "num_samples": int(len(asked)),
        "classifier": (
            f"a CNN (conv 32 and 64, stride 2; dense 128) trained "
            f"{classifier_epochs} epochs on the {len(train_x):,} training "
            "images (grey levels)"
        ),
    }


def evaluate_reconstruction(model, dataset, batch_size=500, limit=None):
    """Evaluates a `keras_vae.VQVAE` on the fixed binarized test set.

    A VQ-VAE has no likelihood bound to estimate; it is measured, like an
    autoencoder, by how well it reconstructs the test images from their
    codes, and by how much of its codebook it uses.

    Args:
        model: a `keras_vae.VQVAE` with a Bernoulli likelihood.
        dataset: str. `"mnist"` or `"fashion_mnist"`.
        batch_size: int. Test images per step.
        limit: int or None. Evaluate on the first `limit` images only.

    Returns:
        A dict: `reconstruction` (`-log p(x|z_q)`, nats per image, for the
        decoded codes of each image), `mse` (mean squared error per pixel
        between the images and the reconstructed pixel probabilities),
        `psnr` (`10 log10(1 / mse)`, dB, images in [0, 1]), `codes_used`
        (distinct codes over the test set) of `num_embeddings`,
        `perplexity` (`exp` of the entropy of the codes' histogram),
        `seconds`, and `protocol`.

    Example:

    ```python
    import keras
    import numpy as np
    import keras_vae
    from keras_vae.evaluation import evaluate_reconstruction

    encoder = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(),
         keras.layers.Dense(32), keras.layers.Reshape((4, 8))]
    )
    decoder = keras.Sequential(
        [keras.Input((4, 8)), keras.layers.Flatten(),
         keras.layers.Dense(784), keras.layers.Reshape((28, 28, 1))]
    )
    vqvae = keras_vae.VQVAE(encoder, decoder, num_embeddings=16,
                            embedding_dim=8, likelihood="bernoulli")
    scores = evaluate_reconstruction(vqvae, "mnist", limit=100)
    print(scores["psnr"], scores["codes_used"])
    ```
    """
    import numpy as np

    from keras_vae.models.vq_vae import VQVAE

    if not isinstance(model, VQVAE):
        raise ValueError(
            "`model` must be a keras_vae.VQVAE (a VAE is evaluated by "
            f"`evaluate`). Received: {type(model).__name__}"
        )
    began = time.time()
    x, _ = _test_images(dataset, limit, 1, batch_size, 0)
    if not model.built:
        model.build((None,) + x.shape[1:])
    codes = model.encode(x, batch_size=batch_size)

    def nll(indices, images):
        params = model.decoder(
            model.quantizer.quantize_indices(indices), training=False
        )
        p = model.likelihood(params, event_ndims=len(images.shape) - 1)
        return -p.log_prob(keras.ops.convert_to_tensor(images))

    nlls, squared = [], []
    for start in range(0, len(x), batch_size):
        images = x[start : start + batch_size]
        indices = codes[start : start + batch_size]
        nlls.append(keras.ops.convert_to_numpy(nll(indices, images)))
        probs = model.decode(indices, batch_size=batch_size)
        squared.append(np.square(probs - images).reshape(len(images), -1))
    nlls = np.concatenate(nlls).astype("float64")
    mse = float(np.concatenate(squared).mean())
    counts = np.bincount(codes.reshape(-1), minlength=model.num_embeddings)
    share = counts[counts > 0] / counts.sum()
    return {
        "reconstruction": float(nlls.mean()),
        "reconstruction_standard_error": _standard_error(nlls),
        "mse": mse,
        "psnr": float(10.0 * np.log10(1.0 / mse)),
        "codes_used": int(np.count_nonzero(counts)),
        "num_embeddings": int(model.num_embeddings),
        "perplexity": float(np.exp(-np.sum(share * np.log(share)))),
        "seconds": round(time.time() - began, 1),
        "protocol": {
            **_protocol(dataset, len(x), 1, 0),
            "num_importance_samples": None,
            "importance_sampling_seed": None,
        },
    }
