import keras
import numpy as np
import pytest

from keras_vae.layers import GaussianEncoderHead
from keras_vae.testing import run_layer_test
from keras_vae.testing import to_numpy


@pytest.mark.parametrize("parameterization", ["log_var", "softplus"])
def test_layer_basics(parameterization):
    run_layer_test(
        GaussianEncoderHead,
        {"latent_dim": 3, "parameterization": parameterization},
        input_data=np.random.rand(4, 6, 5, 2).astype("float32"),
        expected_output_shape=((4, 3), (4, 3)),
        expected_num_trainable_weights=2,
    )


def test_regularizers_add_losses():
    run_layer_test(
        GaussianEncoderHead,
        {
            "latent_dim": 2,
            "kernel_regularizer": "l2",
            "bias_regularizer": "l1",
            "kernel_constraint": "non_neg",
            "bias_initializer": "ones",
        },
        input_data=np.random.rand(4, 5).astype("float32"),
        expected_output_shape=((4, 2), (4, 2)),
        expected_num_trainable_weights=2,
        expected_num_losses=2,
    )


def test_outputs_are_the_projection_split_in_two():
    layer = GaussianEncoderHead(latent_dim=2)
    features = np.random.rand(3, 2, 2).astype("float32")
    mean, log_var = layer(features)
    kernel = to_numpy(layer.kernel)
    bias = to_numpy(layer.bias)
    projected = features.reshape(3, 4) @ kernel + bias
    np.testing.assert_allclose(
        to_numpy(mean), projected[:, :2], rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        to_numpy(log_var), projected[:, 2:], rtol=1e-5, atol=1e-6
    )


def test_softplus_parameterization():
    layer = GaussianEncoderHead(latent_dim=2, parameterization="softplus")
    features = np.random.rand(3, 4).astype("float32")
    _, log_var = layer(features)
    # The reference is computed in float64; the layer works in float32, so the
    # comparison allows float32 rounding of the matmul (log_var can be near 0).
    kernel = to_numpy(layer.kernel).astype("float64")
    bias = to_numpy(layer.bias).astype("float64")
    raw = (features.astype("float64") @ kernel + bias)[:, 2:]
    expected = 2 * np.log(np.log1p(np.exp(raw)) + 1e-4)
    np.testing.assert_allclose(
        to_numpy(log_var), expected, rtol=1e-5, atol=1e-5
    )


def test_log_var_is_clamped():
    layer = GaussianEncoderHead(latent_dim=2, min_log_var=-5.0, max_log_var=5.0)
    layer.build((None, 1))
    layer.bias.assign(np.array([0.0, 0.0, 1e4, -1e4], "float32"))
    _, log_var = layer(np.zeros((1, 1), "float32"))
    np.testing.assert_array_equal(to_numpy(log_var), [[5.0, -5.0]])


@pytest.mark.parametrize("latent_dim", [0, -3, 2.5, "4", True, None])
def test_bad_latent_dim(latent_dim):
    with pytest.raises(ValueError, match=f"latent_dim={latent_dim!r}"):
        GaussianEncoderHead(latent_dim=latent_dim)


def test_bad_arguments():
    with pytest.raises(ValueError, match="parameterization='exp'"):
        GaussianEncoderHead(2, parameterization="exp")
    with pytest.raises(ValueError, match="min_log_var=3"):
        GaussianEncoderHead(2, min_log_var=3, max_log_var=1)
    with pytest.raises(ValueError, match=r"input_shape=\(None, None\)"):
        GaussianEncoderHead(2)(keras.Input((None,)))


def test_functional_output_shape():
    inputs = keras.Input((28, 28, 1))
    features = keras.layers.Conv2D(4, 3, strides=2)(inputs)
    mean, log_var = GaussianEncoderHead(latent_dim=5)(features)
    assert mean.shape == (None, 5) and log_var.shape == (None, 5)
