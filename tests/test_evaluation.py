import numpy as np
import pytest

import keras_vae
from keras_vae.evaluation import compare
from keras_vae.evaluation import evaluate


@pytest.fixture(scope="module")
def models():
    """An untrained MNIST VAE, and a copy made worse: its decoder pushes
    every pixel towards 1, on images that are mostly 0."""
    from keras_vae.training.architectures import mlp

    vaes = []
    for _ in range(2):
        encoder, decoder = mlp(latent_dim=2, hidden=(16,))
        vae = keras_vae.VAE(encoder, decoder, latent_dim=2, seed=0)
        vae(np.zeros((1, 28, 28, 1), "float32"))
        vaes.append(vae)
    good, bad = vaes
    bad.set_weights(good.get_weights())
    logits = bad.decoder.get_layer("logits")
    kernel, bias = logits.get_weights()
    logits.set_weights([kernel, bias + 3.0])
    return good, bad


def test_compare_against_separate_estimates(models):
    good, bad = models
    x, _ = keras_vae.datasets.load_binarized_test_set("mnist")
    x = x[:40]
    result = compare(good, bad, "mnist", num_samples=8, limit=40, verbose=0)
    # The reference: each model's per-image estimates, from its own call.
    log_good = good.log_likelihood(x, num_samples=8, seed=0, verbose=0)
    log_bad = bad.log_likelihood(x, num_samples=8, seed=0, verbose=0)
    difference = log_bad - log_good
    np.testing.assert_allclose(result["nll_a"], -log_good.mean(), rtol=1e-6)
    np.testing.assert_allclose(result["nll_b"], -log_bad.mean(), rtol=1e-6)
    np.testing.assert_allclose(result["difference"], difference.mean())
    # Paired: the spread of the differences, not of either model's NLLs.
    np.testing.assert_allclose(
        result["difference_standard_error"],
        difference.std(ddof=1) / np.sqrt(40),
        rtol=1e-6,
    )
    assert result["difference"] < -100  # A, the good one, is better...
    assert result["a_better_fraction"] == 1.0  # ...on every image.
    assert result["b_better_fraction"] == 0.0
    assert result["protocol"]["num_importance_samples"] == 8
    # The other way round, the signs change.
    swapped = compare(bad, good, "mnist", num_samples=8, limit=40, verbose=0)
    np.testing.assert_allclose(swapped["difference"], -result["difference"])
    assert swapped["a_better_fraction"] == 0.0
    assert swapped["b_better_fraction"] == 1.0


def test_compare_agrees_with_evaluate(models):
    good, _ = models
    result = compare(good, good, "mnist", num_samples=4, limit=30, verbose=0)
    metrics = evaluate(good, "mnist", num_samples=4, limit=30, verbose=0)
    assert result["nll_a"] == result["nll_b"] == metrics["nll"]
    assert result["difference"] == result["difference_standard_error"] == 0
    assert result["protocol"] == metrics["protocol"]


def test_compare_refuses_what_is_not_a_vae(models):
    good, _ = models
    with pytest.raises(TypeError, match="`vae_b` must be a `keras_vae.VAE`"):
        compare(good, good.decoder, "mnist", num_samples=2, limit=2)
    with pytest.raises(ValueError, match="num_samples"):
        compare(good, good, "mnist", num_samples=0, limit=2)
    with pytest.raises(ValueError, match="Received: limit=0"):
        compare(good, good, "mnist", num_samples=2, limit=0)
    with pytest.raises(ValueError, match="Received: limit=-5"):
        evaluate(good, "mnist", num_samples=2, limit=-5)
    with pytest.raises(ValueError, match="Received: dataset='cifar10'"):
        compare(good, good, "cifar10", num_samples=2)
    # A standard error needs two images; a verdict on one would be a guess.
    with pytest.raises(ValueError, match="at least 2 .*Received: limit=1"):
        compare(good, good, "mnist", num_samples=2, limit=1)
    # Checked before the estimate runs, not when its result is recorded.
    for seed in (None, -1, 1.5):
        with pytest.raises(ValueError, match=f"Received: seed={seed!r}"):
            evaluate(good, "mnist", num_samples=2, limit=2, seed=seed)
        with pytest.raises(ValueError, match=f"Received: seed={seed!r}"):
            compare(good, good, "mnist", num_samples=2, limit=2, seed=seed)


def test_standard_errors_are_sample_standard_errors(models):
    good, _ = models
    metrics = evaluate(good, "mnist", num_samples=3, limit=5, verbose=0)
    x, _ = keras_vae.datasets.load_binarized_test_set("mnist")
    log_px = good.log_likelihood(x[:5], num_samples=3, seed=0, verbose=0)
    np.testing.assert_allclose(
        metrics["nll_standard_error"],
        np.std(log_px, ddof=1) / np.sqrt(5),
        rtol=1e-6,
    )
    one = evaluate(good, "mnist", num_samples=3, limit=1, verbose=0)
    assert one["nll_standard_error"] is None  # Not NaN: valid JSON.


@pytest.mark.parametrize("count", [1, 2, 3])
def test_shares_of_an_estimate_get_the_draws_of_the_whole(models, count):
    """What each process of a sharded evaluation computes: its share of
    the batches, with the noise the whole estimate gives them."""
    good, _ = models
    x, labels = keras_vae.datasets.load_binarized_test_set("mnist")
    x = x[:250]  # Three batches of 100, 100 and 50; 3 passes of 20, 20, 10.
    whole = good.log_likelihood(
        x, num_samples=50, batch_size=100, samples_per_step=20, seed=3,
        verbose=0,
    )  # fmt: skip
    got = np.full(len(x), np.nan)
    for index in range(count):
        model = good._importance_weights(50, 100, 20, 3)
        rows, values = model.log_likelihood(
            x, 50, 100, verbose=0, shard=(index, count)
        )
        assert rows.start % 100 == 0  # Whole batches.
        got[rows] = values
    np.testing.assert_array_equal(got, whole)


def test_a_conditional_models_evaluation_counts_its_images():
    # It counted the (images, labels) pair: 2 images.
    cvae = keras_vae.ConditionalVAE.mlp(
        (28, 28, 1), latent_dim=2, num_classes=10
    )
    metrics = evaluate(cvae, "mnist", num_samples=2, limit=7, verbose=0)
    assert metrics["protocol"]["num_images"] == 7
