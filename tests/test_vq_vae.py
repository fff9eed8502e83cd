import json
import math
import os

import keras
import numpy as np
import pytest

from keras_vae.models.vq_vae import VQVAE
from keras_vae.testing import dtype_name
from keras_vae.testing import to_numpy
from keras_vae.testing.layer_test import check_config_has_arguments

DATA_SHAPE = (6, 6, 1)
POSITIONS, K, D = 4, 8, 3


def mlp_vqvae(positions=POSITIONS, hidden=32, **kwargs):
    """A tiny VQ-VAE whose latent is a grid of `positions` codes (or one
    code per example with `positions=None`)."""
    size = math.prod(DATA_SHAPE)
    latent = (D,) if positions is None else (positions, D)
    encoder = keras.Sequential(
        [
            keras.Input(DATA_SHAPE),
            keras.layers.Flatten(),
            keras.layers.Dense(hidden, activation="tanh"),
            keras.layers.Dense(math.prod(latent)),
            keras.layers.Reshape(latent),
        ],
        name="encoder",
    )
    decoder = keras.Sequential(
        [
            keras.Input(latent),
            keras.layers.Flatten(),
            keras.layers.Dense(hidden, activation="tanh"),
            keras.layers.Dense(size),
            keras.layers.Reshape(DATA_SHAPE),
        ],
        name="decoder",
    )
    kwargs.setdefault("seed", 0)
    return VQVAE(encoder, decoder, num_embeddings=K, embedding_dim=D, **kwargs)


def prototypes(n, seed=0):
    """Binary 6x6 images: one of 6 fixed prototypes, 5% of pixels flipped."""
    shapes = np.random.default_rng(1234).random((6,) + DATA_SHAPE) > 0.5
    rng = np.random.default_rng(seed)
    images = shapes[rng.integers(0, 6, n)]
    images ^= rng.random(images.shape) < 0.05
    return images.astype("float32")


def np_nearest(z, codes):
    flat = z.reshape(-1, codes.shape[1]).astype("float64")
    distances = ((flat[:, None, :] - codes[None]) ** 2).sum(-1)
    return distances.argmin(1).reshape(z.shape[:-1])


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"ema": True, "dead_code_threshold": 0.02, "decay": 0.9}],
)
def test_fit_lowers_the_reconstruction_loss(kwargs):
    x = prototypes(128)
    vqvae = mlp_vqvae(**kwargs)
    vqvae.compile(optimizer=keras.optimizers.Adam(0.01))
    history = vqvae.fit(x, epochs=8, batch_size=32, verbose=0).history
    assert sorted(history) == [
        "loss",
        "perplexity",
        "reconstruction",
        "vq_loss",
    ]
    for name, values in history.items():
        assert np.all(np.isfinite(values)), (name, values)
    reconstruction = history["reconstruction"]
    assert reconstruction[-1] < reconstruction[0] - 1.0, reconstruction
    np.testing.assert_allclose(
        history["loss"][-1],
        reconstruction[-1] + history["vq_loss"][-1],
        rtol=1e-4,
    )
    assert 1.0 <= history["perplexity"][-1] <= K
    logs = vqvae.evaluate(x, batch_size=64, verbose=0, return_dict=True)
    assert sorted(logs) == sorted(history)


def test_losses_and_codes_match_numpy():
    x = prototypes(5)
    vqvae = mlp_vqvae(commitment_cost=0.4)
    params = to_numpy(vqvae(x))
    assert params.shape == (5,) + DATA_SHAPE
    z = to_numpy(vqvae.encoder(x)).astype("float64")
    codes = to_numpy(vqvae.codebook).astype("float64")
    indices = np_nearest(z, codes)
    q = codes[indices]
    expected_params = to_numpy(vqvae.decoder(q.astype("float32")))
    np.testing.assert_allclose(params, expected_params, rtol=1e-5, atol=1e-6)
    # Unit-variance Gaussian: NLL summed over an example, batch mean.
    size = math.prod(DATA_SHAPE)
    nll = 0.5 * ((x - params) ** 2).reshape(5, -1).sum(1) + 0.5 * size * (
        math.log(2 * math.pi)
    )
    squared = ((z - q) ** 2).reshape(5, -1).sum(1).mean()
    reconstruction, vq_loss = (float(to_numpy(v)) for v in vqvae.losses)
    np.testing.assert_allclose(reconstruction, nll.mean(), rtol=1e-5)
    # codebook + 0.4 * commitment, both ||z - q||^2.
    np.testing.assert_allclose(vq_loss, 1.4 * squared, rtol=1e-5)
    np.testing.assert_array_equal(vqvae.encode(x), indices)


def test_encode_decode_reconstruct():
    x = prototypes(10)
    vqvae = mlp_vqvae()
    codes = vqvae.encode(x, batch_size=5)
    assert codes.shape == (10, POSITIONS)
    assert codes.dtype == np.int32
    assert codes.min() >= 0 and codes.max() < K
    images = vqvae.decode(codes, batch_size=5)
    assert images.shape == (10,) + DATA_SHAPE
    assert images.dtype == np.float32
    np.testing.assert_array_equal(vqvae.reconstruct(x, batch_size=5), images)
    # The Gaussian's mean is the decoder's output: `predict` agrees.
    np.testing.assert_allclose(
        vqvae.predict(x, batch_size=5, verbose=0), images, rtol=1e-5, atol=1e-6
    )


def test_fit_prior_and_sample():
    x = prototypes(40)
    vqvae = mlp_vqvae()
    np.testing.assert_array_equal(
        to_numpy(vqvae.prior_logits), np.zeros((POSITIONS, K))
    )  # Uniform before `fit_prior`.
    log_probs = vqvae.fit_prior(x, pseudo_count=0.5)
    codes = vqvae.encode(x)
    counts = np.stack(
        [np.bincount(codes[:, p], minlength=K) for p in range(POSITIONS)]
    )
    expected = np.log((counts + 0.5) / (len(x) + K * 0.5))
    np.testing.assert_allclose(log_probs, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        to_numpy(vqvae.prior_logits), expected, rtol=1e-5, atol=1e-6
    )
    # Draws follow the prior, position by position.
    draws = vqvae.sample_codes(4000, seed=3)
    assert draws.shape == (4000, POSITIONS) and draws.dtype == np.int32
    frequencies = np.stack(
        [np.bincount(draws[:, p], minlength=K) for p in range(POSITIONS)]
    ) / len(draws)
    probs = np.exp(expected)
    error = np.sqrt(probs * (1 - probs) / len(draws))
    np.testing.assert_array_less(np.abs(frequencies - probs), 5 * error + 1e-3)
    first = vqvae.sample_codes(40, seed=4)
    np.testing.assert_array_equal(vqvae.sample_codes(40, seed=4), first)
    assert not np.array_equal(vqvae.sample_codes(40, seed=5), first)
    samples = vqvae.sample(40, seed=4)
    assert samples.shape == (40,) + DATA_SHAPE
    np.testing.assert_array_equal(samples, vqvae.decode(first))
    # The model's own generator: fresh codes at each call.
    first = vqvae.sample_codes(40)
    assert not np.array_equal(first, vqvae.sample_codes(40))


def test_one_code_per_example():
    x = prototypes(12)
    vqvae = mlp_vqvae(positions=None)
    codes = vqvae.encode(x)
    assert codes.shape == (12,)
    log_probs = vqvae.fit_prior(x)
    assert log_probs.shape == (K,)
    np.testing.assert_allclose(np.exp(log_probs).sum(), 1.0, rtol=1e-5)
    assert vqvae.sample(3, seed=0).shape == (3,) + DATA_SHAPE


def _as_json(config):
    return json.dumps(config, sort_keys=True)


def test_config_and_keras_round_trip(tmp_path):
    x = prototypes(64)
    vqvae = mlp_vqvae(
        likelihood="bernoulli",
        commitment_cost=0.5,
        ema=True,
        decay=0.9,
        epsilon=1e-4,
        dead_code_threshold=0.01,
        seed=3,
    )
    config = vqvae.get_config()
    check_config_has_arguments(vqvae, config)
    revived = VQVAE.from_config(json.loads(_as_json(config)))
    assert _as_json(revived.get_config()) == _as_json(config)
    revived = keras.saving.deserialize_keras_object(
        json.loads(json.dumps(keras.saving.serialize_keras_object(vqvae)))
    )
    assert type(revived) is VQVAE
    assert _as_json(revived.get_config()) == _as_json(config)

    vqvae.compile(optimizer="adam")
    vqvae.fit(x, epochs=1, batch_size=32, verbose=0)
    vqvae.fit_prior(x)
    path = os.path.join(tmp_path, "vqvae.keras")
    vqvae.save(path)
    loaded = keras.saving.load_model(path)  # safe_mode=True
    assert type(loaded) is VQVAE
    for old, new in zip(vqvae.weights, loaded.weights, strict=True):
        np.testing.assert_array_equal(to_numpy(old), to_numpy(new))
    codes = vqvae.encode(x[:8])
    np.testing.assert_array_equal(loaded.encode(x[:8]), codes)
    np.testing.assert_array_equal(loaded.decode(codes), vqvae.decode(codes))
    np.testing.assert_array_equal(
        loaded.sample_codes(5, seed=1), vqvae.sample_codes(5, seed=1)
    )
    # Bernoulli: decode gives probabilities.
    images = loaded.decode(codes)
    assert images.min() >= 0.0 and images.max() <= 1.0


def test_mixed_bfloat16():
    keras.config.set_dtype_policy("mixed_bfloat16")
    x = prototypes(32)
    vqvae = mlp_vqvae(ema=True)
    params = vqvae(x)
    assert dtype_name(params) == "bfloat16"
    for loss in vqvae.losses:
        assert dtype_name(loss) == "float32"
    assert dtype_name(vqvae.codebook) == "float32"
    assert dtype_name(vqvae.prior_logits) == "float32"
    vqvae.compile(optimizer="adam")
    history = vqvae.fit(x, epochs=1, batch_size=16, verbose=0).history
    assert all(np.isfinite(v[-1]) for v in history.values()), history
    assert vqvae.encode(x).dtype == np.int32
    assert vqvae.reconstruct(x).dtype == np.float32


def test_bad_arguments_and_data():
    encoder = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5)])
    decoder = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)])
    with pytest.raises(ValueError, match=r"embedding_dim=3.*outputs \(1, 5\)"):
        VQVAE(encoder, decoder, num_embeddings=K, embedding_dim=3)
    with pytest.raises(ValueError, match="num_embeddings.*>= 2.*=1"):
        VQVAE(encoder, decoder, num_embeddings=1, embedding_dim=5)
    with pytest.raises(ValueError, match="`encoder` must be a Keras layer"):
        VQVAE("encoder", decoder, num_embeddings=K, embedding_dim=5)
    with pytest.raises(ValueError, match="Unknown likelihood"):
        VQVAE(
            encoder,
            decoder,
            num_embeddings=K,
            embedding_dim=5,
            likelihood="laplace",
        )

    vqvae = mlp_vqvae(likelihood="bernoulli")
    x = prototypes(8)
    vqvae.compile(optimizer="adam")
    with pytest.raises(ValueError, match="trains on the data alone"):
        vqvae.fit(x, x, verbose=0)
    with pytest.raises(ValueError, match="sample_weight"):
        vqvae.fit(x, sample_weight=np.ones(8), verbose=0)
    with pytest.raises(ValueError, match=r"bernoulli.*\[0, 1\]"):
        vqvae.fit(x * 2.0, verbose=0)
    with pytest.raises(ValueError, match=r"encoder expects.*\(8, 36\)"):
        vqvae.encode(x.reshape(8, 36))
    with pytest.raises(ValueError, match=r"integer array of shape \(None, 4\)"):
        vqvae.decode(np.zeros((2, 4), "float32"))
    with pytest.raises(ValueError, match=r"indices.shape=\(2, 3\)"):
        vqvae.decode(np.zeros((2, 3), "int32"))
    with pytest.raises(ValueError, match=r"\[0, num_embeddings=8\).*\[8, 8\]"):
        vqvae.decode(np.full((2, 4), 8))
    with pytest.raises(ValueError, match="pseudo_count.*=0"):
        vqvae.fit_prior(x, pseudo_count=0)
    with pytest.raises(ValueError, match="num_samples.*=0"):
        vqvae.sample(0)
    with pytest.raises(ValueError, match=r"`seed`.*seed=-2"):
        vqvae.sample(2, seed=-2)


def test_log_likelihood_says_a_vq_vae_has_none():
    encoder = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4)])
    decoder = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6)])
    vqvae = VQVAE(encoder, decoder, num_embeddings=8, embedding_dim=4)
    for method in (vqvae.log_likelihood, vqvae.score):
        with pytest.raises(NotImplementedError, match="no likelihood bound"):
            method(np.zeros((2, 6), "float32"))
