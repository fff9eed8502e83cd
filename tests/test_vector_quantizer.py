import keras
import numpy as np
import pytest

from keras_vae.layers.vector_quantizer import VectorQuantizer
from keras_vae.testing import dtype_name
from keras_vae.testing import run_layer_test
from keras_vae.testing import to_numpy

K, D = 6, 4


def data(shape=(5, 3, D), seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def codebook(seed=1, k=K, d=D):
    return np.random.default_rng(seed).normal(size=(k, d)).astype("float32")


def np_nearest(x, codes):
    """The nearest code of each vector, in float64 (brute force)."""
    flat = x.reshape(-1, codes.shape[1]).astype("float64")
    distances = ((flat[:, None, :] - codes[None]) ** 2).sum(-1)
    return distances.argmin(1).reshape(x.shape[:-1])


def np_squared_error(x, q):
    """||x - q||^2 summed over an example, averaged over the batch."""
    axes = tuple(range(1, x.ndim))
    return ((x.astype("float64") - q) ** 2).sum(axis=axes).mean()


def np_ema_step(x, codes, cluster_size, embed_sum, decay, epsilon):
    """One EMA codebook update (van den Oord et al. 2017, appendix)."""
    flat = x.reshape(-1, codes.shape[1]).astype("float64")
    one_hot = np.eye(len(codes))[np_nearest(x, codes).reshape(-1)]
    cluster_size = decay * cluster_size + (1 - decay) * one_hot.sum(0)
    embed_sum = decay * embed_sum + (1 - decay) * one_hot.T @ flat
    total = cluster_size.sum()
    smoothed = (cluster_size + epsilon) / (total + len(codes) * epsilon) * total
    return cluster_size, embed_sum, embed_sum / smoothed[:, None]


def quantizer(codes=None, **kwargs):
    """A built quantizer whose codebook is `codes`."""
    codes = codebook() if codes is None else codes
    kwargs.setdefault("seed", 0)
    layer = VectorQuantizer(len(codes), codes.shape[1], **kwargs)
    layer.build((None, codes.shape[1]))
    layer.embeddings.assign(codes)
    if layer.ema:
        layer.ema_embed_sum.assign(codes)  # One vector per code, itself.
    return layer


def functional(layer, input_shape):
    inputs = keras.Input(input_shape)
    model = keras.Model(inputs, layer(inputs))
    return model


@pytest.mark.parametrize(
    "kwargs, trainable, non_trainable",
    [
        ({}, 1, 0),
        ({"ema": True}, 0, 3),
        ({"dead_code_threshold": 0.01}, 1, 2),
    ],
)
def test_layer_basics(kwargs, trainable, non_trainable):
    run_layer_test(
        VectorQuantizer,
        {"num_embeddings": K, "embedding_dim": D, "seed": 1, **kwargs},
        input_data=data(),
        expected_output_shape=(5, 3, D),
        expected_num_trainable_weights=trainable,
        expected_num_non_trainable_weights=non_trainable,
        expected_num_seed_generators=1,
        expected_num_losses=1,
    )


@pytest.mark.parametrize("ema", [False, True])
def test_nearest_codes_and_losses_match_numpy(ema):
    x, codes = data(), codebook()
    layer = quantizer(codes, commitment_cost=0.3, ema=ema)
    outputs = to_numpy(layer(x))
    expected = np_nearest(x, codes)
    np.testing.assert_array_equal(to_numpy(layer.get_code_indices(x)), expected)
    # The output is the code itself, exactly.
    np.testing.assert_array_equal(outputs, codes[expected])
    error = np_squared_error(x, codes[expected])
    # codebook + beta * commitment: equal values; no codebook loss with EMA.
    weight = 0.3 if ema else 1.3
    assert len(layer.losses) == 1
    np.testing.assert_allclose(
        to_numpy(layer.losses[0]), weight * error, rtol=1e-5
    )
    # No update outside training.
    np.testing.assert_array_equal(to_numpy(layer.embeddings), codes)


def test_one_code_per_example():
    x, codes = data((7, D)), codebook()
    layer = quantizer(codes)
    indices = to_numpy(layer.get_code_indices(x))
    assert indices.shape == (7,)
    np.testing.assert_array_equal(indices, np_nearest(x, codes))


def _input_gradient(fn, x):
    """d sum(fn(x)) / dx, on the current backend."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = keras.ops.sum(fn(x))
        return to_numpy(tape.gradient(y, x))
    if backend == "jax":
        import jax

        return np.asarray(jax.grad(lambda v: keras.ops.sum(fn(v)))(x))
    import torch

    x = torch.tensor(x, requires_grad=True)
    keras.ops.sum(fn(x)).backward()
    return x.grad.numpy()


def test_straight_through_gradient_is_identity():
    x, codes = data(), codebook()
    weights = data(seed=5)
    layer = quantizer(codes)

    def weighted_output(v):
        quantized = layer.quantize_with_details(v)["quantized"]
        return keras.ops.multiply(quantized, weights)

    np.testing.assert_allclose(
        _input_gradient(weighted_output, x), weights, rtol=1e-6
    )

    # The loss's gradient w.r.t. x is the commitment loss's alone (the
    # codebook loss stops it): 2 beta (x - q) / B.
    q = codes[np_nearest(x, codes)]
    expected = 2 * 0.25 * (x - q) / len(x)
    np.testing.assert_allclose(
        _input_gradient(lambda v: layer.quantize_with_details(v)["loss"], x),
        expected,
        rtol=1e-5,
        atol=1e-6,
    )


def test_codebook_gradient_step_matches_numpy():
    """A compiled SGD step on the codebook loss, on every backend."""
    x, codes = data(), codebook()
    layer = quantizer(codes, commitment_cost=0.3)
    model = functional(layer, x.shape[1:])
    learning_rate = 0.5
    model.compile(optimizer=keras.optimizers.SGD(learning_rate))
    model.fit(x, epochs=1, batch_size=len(x), shuffle=False, verbose=0)
    # d/dE_k (1/B) sum ||sg(x) - E_k||^2 = (2/B) sum_{x -> k} (E_k - x).
    indices = np_nearest(x, codes).reshape(-1)
    flat = x.reshape(-1, D).astype("float64")
    gradient = np.zeros((K, D))
    np.add.at(gradient, indices, 2 * (codes[indices] - flat) / len(x))
    np.testing.assert_allclose(
        to_numpy(layer.embeddings),
        codes - learning_rate * gradient,
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.parametrize("compiled", [False, True])
def test_ema_update_matches_numpy(compiled):
    x, codes = data(), codebook()
    layer = quantizer(codes, ema=True, decay=0.9, epsilon=1e-3)
    if compiled:  # In a compiled training step (stateless on JAX).
        model = functional(layer, x.shape[1:])
        model.compile(optimizer="sgd")
        model.fit(x, epochs=1, batch_size=len(x), shuffle=False, verbose=0)
    else:
        outputs = layer(x, training=True)
        # The output uses the codebook before the update.
        np.testing.assert_array_equal(
            to_numpy(outputs), codes[np_nearest(x, codes)]
        )
    cluster, embed_sum, embeddings = np_ema_step(
        x, codes, np.ones(K), codes.astype("float64"), 0.9, 1e-3
    )
    np.testing.assert_allclose(
        to_numpy(layer.ema_cluster_size), cluster, rtol=1e-5
    )
    np.testing.assert_allclose(
        to_numpy(layer.ema_embed_sum), embed_sum, rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        to_numpy(layer.embeddings), embeddings, rtol=1e-5, atol=1e-6
    )


def test_ema_codebook_moves_to_the_data_and_ignores_frozen():
    x, codes = data(), codebook()
    layer = quantizer(codes, ema=True, decay=0.0)
    layer(x, training=True)
    # decay=0: each used code becomes the mean of its vectors.
    indices = np_nearest(x, codes).reshape(-1)
    flat = x.reshape(-1, D)
    for k in np.unique(indices):
        np.testing.assert_allclose(
            to_numpy(layer.embeddings)[k],
            flat[indices == k].mean(0),
            rtol=1e-4,
            atol=1e-5,
        )
    frozen = quantizer(codes, ema=True)
    frozen.trainable = False
    frozen(x, training=True)
    np.testing.assert_array_equal(to_numpy(frozen.embeddings), codes)


def test_perplexity_matches_numpy():
    indices = np.array([[0, 0, 1, 2], [2, 2, 3, 3]], "int32")
    layer = quantizer(codebook(k=5))
    p = np.bincount(indices.reshape(-1), minlength=5) / indices.size
    p = p[p > 0]
    expected = np.exp(-(p * np.log(p)).sum())
    np.testing.assert_allclose(
        to_numpy(layer.compute_perplexity(indices)), expected, rtol=1e-6
    )
    np.testing.assert_allclose(
        to_numpy(layer.compute_perplexity(np.zeros((4,), "int32"))), 1.0
    )
    np.testing.assert_allclose(
        to_numpy(layer.compute_perplexity(np.arange(5))), 5.0, rtol=1e-6
    )
    x = data()
    details = layer.quantize_with_details(x)
    np.testing.assert_allclose(
        to_numpy(details["perplexity"]),
        to_numpy(layer.compute_perplexity(details["indices"])),
        rtol=1e-6,
    )


def test_code_lookup_round_trip():
    x, codes = data(), codebook()
    layer = quantizer(codes)
    indices = layer.get_code_indices(x)
    assert dtype_name(indices) == "int32"
    assert tuple(indices.shape) == (5, 3)
    np.testing.assert_array_equal(
        to_numpy(layer.quantize_indices(indices)), to_numpy(layer(x))
    )
    np.testing.assert_array_equal(to_numpy(layer.codebook), codes)


def _far_code_setup():
    """Codes 0-2 used by the data, code 3 far away: never used."""
    codes = np.array(
        [[0.0, 0.0], [1.0, 1.0], [-1.0, 0.5], [100.0, 100.0]], "float32"
    )
    noise = 0.1 * data((8, 2), seed=3)
    x = (codes[[0, 1, 2, 0, 1, 2, 0, 1]] + noise).reshape(4, 2, 2)
    return x, codes


@pytest.mark.parametrize("ema", [False, True])
def test_dead_code_restart_moves_an_unused_code(ema):
    x, codes = _far_code_setup()
    layer = quantizer(codes, ema=ema, decay=0.5, dead_code_threshold=0.2)
    layer(x, training=True)
    # Counts (3, 3, 2, 0): the share of code 3 is 0.5 / 6 < 0.2 (code 2's
    # 1.5 / 6 is not): restarted at a vector of the batch, its usage
    # reset to the mean count.
    moved = to_numpy(layer.codebook)[3]
    flat = x.reshape(-1, 2)
    assert np.any(np.all(np.isclose(flat, moved, atol=1e-6), axis=1)), moved
    cluster = 0.5 + 0.5 * np.bincount(
        np_nearest(x, codes).reshape(-1), minlength=4
    )
    expected = cluster.copy()
    expected[3] = cluster.mean()
    np.testing.assert_allclose(
        to_numpy(layer.ema_cluster_size), expected, rtol=1e-6
    )
    if not ema:  # The used codes are left to the optimizer.
        np.testing.assert_array_equal(to_numpy(layer.codebook)[:3], codes[:3])
    # The same seed restarts at the same vector.
    again = quantizer(codes, ema=ema, decay=0.5, dead_code_threshold=0.2)
    again(x, training=True)
    np.testing.assert_array_equal(to_numpy(again.codebook)[3], moved)
    # Inference leaves the codes alone.
    layer = quantizer(codes, ema=ema, decay=0.5, dead_code_threshold=0.2)
    layer(x, training=False)
    np.testing.assert_array_equal(to_numpy(layer.codebook), codes)


@pytest.mark.parametrize("ema", [False, True])
def test_dead_code_restart_in_compiled_fit(ema):
    x, codes = _far_code_setup()
    layer = quantizer(codes, ema=ema, decay=0.5, dead_code_threshold=0.2)
    model = functional(layer, x.shape[1:])
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    model.fit(x, epochs=1, batch_size=len(x), verbose=0)
    moved = to_numpy(layer.codebook)[3]
    flat = x.reshape(-1, 2)
    assert np.any(np.all(np.isclose(flat, moved, atol=1e-6), axis=1)), moved


def test_mixed_bfloat16():
    keras.config.set_dtype_policy("mixed_bfloat16")
    layer = VectorQuantizer(K, D, ema=True, seed=0)
    x = keras.ops.cast(data(), "bfloat16")
    details = layer.quantize_with_details(x, training=True)
    assert dtype_name(details["quantized"]) == "bfloat16"
    assert dtype_name(details["loss"]) == "float32"
    assert dtype_name(details["perplexity"]) == "float32"
    for variable in layer.weights:
        assert dtype_name(variable) == "float32", variable.path
    outputs = layer(x)
    assert dtype_name(outputs) == "bfloat16"
    assert np.isfinite(to_numpy(layer.losses[0]))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_embeddings": 1}, "num_embeddings.*>= 2.*Received: num"),
        ({"num_embeddings": 0}, "num_embeddings.*Received: num_embeddings=0"),
        ({"embedding_dim": 0}, "embedding_dim.*Received: embedding_dim=0"),
        ({"commitment_cost": -1.0}, "commitment_cost.*commitment_cost=-1.0"),
        ({"ema": "yes"}, "`ema` must be True or False.*ema='yes'"),
        ({"decay": 1.0}, r"`decay` must be a number in \[0, 1\).*decay=1.0"),
        ({"epsilon": 0.0}, "epsilon.*Received: epsilon=0.0"),
        (
            {"dead_code_threshold": 0.5},
            "dead_code_threshold.*below 1 / num_embeddings.*=0.5",
        ),
        ({"seed": -1}, r"`seed`.*\[0, 2\*\*32\).*seed=-1"),
    ],
)
def test_bad_arguments(kwargs, match):
    arguments = {"num_embeddings": K, "embedding_dim": D, **kwargs}
    with pytest.raises(ValueError, match=match):
        VectorQuantizer(**arguments)


def test_bad_input_shape():
    layer = VectorQuantizer(K, D)
    with pytest.raises(ValueError, match=r"embedding_dim=4.*\(5, 3\)"):
        layer(np.zeros((5, 3), "float32"))
    layer = quantizer()
    with pytest.raises(ValueError, match=r"inputs.shape=\(2, 3\)"):
        layer.get_code_indices(np.zeros((2, 3), "float32"))
