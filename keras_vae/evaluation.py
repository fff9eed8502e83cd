"""Evaluation of VAEs on the standard likelihood protocol."""

import math
import time

import keras

from keras_vae import datasets

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
        vae: a `keras_vae.VAE` with a Bernoulli likelihood.
        dataset: str. `"mnist"` or `"fashion_mnist"`.
        num_samples: int. Importance samples per image, default 5000.
        batch_size: int. Test images per step.
        seed: int. Seed of the importance samples.
        verbose: progress bar setting of `VAE.log_likelihood`.
        limit: int or None. Evaluate on the first `limit` images only.
        progress_path: str or None. Where to save the progress of the
            importance-sampling estimate after every step, so that the same
            call, stopped and started again, continues where it was (see
            `VAE.log_likelihood`).

    Returns:
        A dict: `nll` (importance-weighted estimate of -log p(x)) and its
        `nll_standard_error`, `elbo`, `kl`, `reconstruction` (nats per
        image), `seconds` (including the time of earlier, stopped calls
        resumed from `progress_path`), and `protocol` (data set,
        binarization, k...).

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
    x, _ = datasets.load_binarized_test_set(dataset)
    if limit is not None:
        x = x[:limit]
    began = time.time()
    if not getattr(vae, "compiled", False):
        vae.compile()  # For `evaluate`'s metrics; the optimizer is unused.
    logs = vae.evaluate(x, batch_size=500, verbose=0, return_dict=True)
    weights_model = vae._importance_weights(
        num_samples, batch_size, samples_per_step=None, seed=seed
    )
    log_px = weights_model.log_likelihood(
        vae._as_data(x),  # The checks of `VAE.log_likelihood`.
        num_samples,
        batch_size=batch_size,
        verbose=verbose,
        progress_path=progress_path,
    )
    seconds = time.time() - began + weights_model.seconds_before
    return {
        "nll": float(-log_px.mean()),
        "nll_standard_error": float(log_px.std() / math.sqrt(len(log_px))),
        "elbo": float(logs["elbo"]),
        "kl": float(logs["kl"]),
        "reconstruction": float(logs["reconstruction"]),
        "seconds": round(seconds, 1),
        "protocol": {
            "dataset": dataset,
            "split": "test",
            "num_images": int(len(x)),
            "binarization": (
                "fixed stochastic binarization, seed "
                f"{datasets.FIXED_BINARIZATION_SEED} "
                "(keras_vae.datasets.load_binarized_test_set)"
            ),
            "num_importance_samples": int(num_samples),
            "importance_sampling_seed": int(seed),
            "units": "nats per image",
            "backend": keras.backend.backend(),
        },
    }
