"""Transformed distributions, MADE and the inverse autoregressive flow."""

import itertools
import os

import keras
import numpy as np
import pytest
from keras import ops
from scipy import stats

from keras_vae import distributions
from keras_vae import posteriors
from keras_vae.distributions.transformed import Transformed
from keras_vae.posteriors import MADE
from keras_vae.posteriors import InverseAutoregressiveFlow
from keras_vae.posteriors.made import made_masks
from keras_vae.testing import check_config_round_trip
from keras_vae.testing import dtype_name
from keras_vae.testing import run_layer_test
from keras_vae.testing import to_numpy

# --- Transformed ---------------------------------------------------------


class Affine:
    """`y = scale * z + shift`, element-wise, with its inverse."""

    def __init__(self, scale, shift):
        self.scale = np.asarray(scale, "float32")
        self.shift = np.asarray(shift, "float32")
        self.log_det = float(np.sum(np.log(np.abs(self.scale))))

    def forward_and_log_det(self, z):
        y = ops.add(ops.multiply(z, self.scale), self.shift)
        return y, self.log_det * ops.ones(ops.shape(z)[:-1])

    def inverse_and_log_det(self, y):
        z = ops.divide(ops.subtract(y, self.shift), self.scale)
        return z, -self.log_det * ops.ones(ops.shape(y)[:-1])


class ForwardOnly(Affine):
    inverse_and_log_det = None


LOC = np.array([[0.5, -1.0, 2.0], [0.0, 0.3, -0.2]], "float32")
SCALE = np.array([[1.0, 0.5, 2.0], [0.2, 1.5, 1.0]], "float32")
FLOW_SCALE = np.array([2.0, -0.5, 3.0], "float32")
FLOW_SHIFT = np.array([1.0, 0.0, -2.0], "float32")


def reference_log_prob(y):
    """log q(y) for y = a z + b, z ~ N(loc, scale): N(a loc + b, |a| scale)."""
    return stats.norm.logpdf(
        y,
        FLOW_SCALE * LOC + FLOW_SHIFT,
        np.abs(FLOW_SCALE) * SCALE,
    ).sum(-1)


def test_transformed_sample_and_log_prob_is_the_change_of_variables():
    base = distributions.Normal(LOC, SCALE)
    q = Transformed(base, ForwardOnly(FLOW_SCALE, FLOW_SHIFT))
    assert q.base is base
    assert q.batch_shape == (2,) and q.event_shape == (3,)
    y, log_q = q.sample_and_log_prob(seed=0, sample_shape=(5,))
    assert tuple(y.shape) == (5, 2, 3) and tuple(log_q.shape) == (5, 2)
    assert dtype_name(y) == "float32" and dtype_name(log_q) == "float32"
    y = to_numpy(y)
    np.testing.assert_allclose(
        to_numpy(log_q), reference_log_prob(y), rtol=1e-5, atol=1e-5
    )
    assert tuple(q.sample(seed=1, sample_shape=4).shape) == (4, 2, 3)


def test_transformed_log_prob_uses_the_inverse_when_there_is_one():
    q = Transformed(
        distributions.Normal(LOC, SCALE), Affine(FLOW_SCALE, FLOW_SHIFT)
    )
    x = np.random.default_rng(0).normal(size=(4, 2, 3)).astype("float32")
    np.testing.assert_allclose(
        to_numpy(q.log_prob(x)), reference_log_prob(x), rtol=1e-5, atol=1e-5
    )


def test_transformed_without_inverse_or_mean_says_what_to_do():
    q = Transformed(
        distributions.Normal(LOC, SCALE), ForwardOnly(FLOW_SCALE, FLOW_SHIFT)
    )
    with pytest.raises(NotImplementedError, match="sample_and_log_prob"):
        q.log_prob(np.zeros((2, 3), "float32"))
    with pytest.raises(NotImplementedError, match="no closed-form mean"):
        q.mean()


def test_transformed_checks_its_arguments():
    with pytest.raises(ValueError, match="forward_and_log_det"):
        Transformed(distributions.Normal(LOC, SCALE), object())
    with pytest.raises(ValueError, match="`base` must be"):
        Transformed("normal", Affine(FLOW_SCALE, FLOW_SHIFT))


# --- MADE ------------------------------------------------------------------


def test_made_masks_are_strictly_autoregressive():
    for num_inputs, hidden_units, reverse in itertools.product(
        (1, 2, 4), ((), (5,), (4, 6), (2,)), (False, True)
    ):
        masks = made_masks(num_inputs, hidden_units, reverse)
        # Which input reaches which output, through every path.
        reach = masks[0]
        for mask in masks[1:]:
            reach = reach @ mask
        order = np.arange(num_inputs)
        if reverse:
            order = order[::-1]
        position = np.argsort(order)  # Where each value sits in the order.
        earlier = position[:, None] < position[None, :]
        assert np.all(reach[~earlier] == 0)
        if all(units >= num_inputs - 1 for units in hidden_units):
            assert np.all(reach[earlier] > 0)  # Nothing is cut.


def test_made_basics():
    run_layer_test(
        MADE,
        {"hidden_units": (6,)},
        input_data=np.random.rand(4, 3).astype("float32"),
        expected_output_shape=((4, 3), (4, 3)),
        expected_num_trainable_weights=4,
    )


def dependence(fn, z, size=1.0):
    """`D[j, i]`: whether output `i` of `fn` (either of its two) changes
    when input `j` moves."""
    m0, s0 = (to_numpy(t) for t in fn(z))
    found = np.zeros((z.shape[-1], z.shape[-1]), bool)
    for j in range(z.shape[-1]):
        moved = z.copy()
        moved[..., j] += size
        m1, s1 = (to_numpy(t) for t in fn(moved))
        change = np.maximum(np.abs(m1 - m0), np.abs(s1 - s0))
        change = change.reshape(-1, z.shape[-1]).max(0)
        assert np.all((change == 0) | (change > 1e-6))
        found[j] = change > 0
    return found


@pytest.mark.parametrize("reverse", [False, True])
def test_made_layer_is_autoregressive_with_a_context(reverse):
    made = MADE(hidden_units=(8, 8), reverse=reverse)
    rng = np.random.default_rng(1)
    z = rng.normal(size=(2, 3, 4)).astype("float32")  # Leading sample axis.
    context = rng.normal(size=(3, 5)).astype("float32")
    found = dependence(lambda v: made(v, context), z)
    i, j = np.meshgrid(np.arange(4), np.arange(4))  # found[j, i]
    np.testing.assert_array_equal(found, (i < j) if reverse else (i > j))
    with pytest.raises(ValueError, match="built with a context"):
        made(z)


# --- InverseAutoregressiveFlow -----------------------------------------------

LATENT = 3
FEATURES = (2, 3)  # Features of any shape are flattened.


def make_iaf(**kwargs):
    """An IAF built on `FEATURES`, every weight random (biases too)."""
    kwargs = {"hidden_units": (8,), "context_units": 4, **kwargs}
    layer = InverseAutoregressiveFlow(LATENT, **kwargs)
    layer.build((None,) + FEATURES)
    rng = np.random.default_rng(2)
    for weight in layer.weights:
        weight.assign(rng.normal(scale=0.6, size=weight.shape))
    return layer


def features(batch=4, seed=3):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(batch,) + FEATURES).astype("float32")


def elu(x):
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


def numpy_flow(layer, x):
    """The IAF's forward map in float64 numpy, from its weights: a
    function of `z0` (batch, L), for the features `x`."""
    w = {
        v.path.split("/", 1)[1]: to_numpy(v).astype("float64")
        for v in layer.weights
    }
    flat = x.reshape(len(x), -1).astype("float64")
    context = None
    if layer.context_units:
        context = flat @ w["context/kernel"] + w["context/bias"]

    def forward(z0):
        z = z0
        for t, made in enumerate(layer.mades):
            masks = made_masks(LATENT, layer.hidden_units, made.reverse)
            masks[-1] = np.tile(masks[-1], (1, 2))
            h = z
            for i, mask in enumerate(masks):
                h = h @ (w[f"made_{t}/kernel_{i}"] * mask)
                h = h + w[f"made_{t}/bias_{i}"]
                if i == 0 and context is not None:
                    h = h + context @ w[f"made_{t}/context_kernel"]
                if i < len(masks) - 1:
                    h = elu(h)
            m, s = h[:, :LATENT], h[:, LATENT:] + layer.forget_bias
            sigma = 1.0 / (1.0 + np.exp(-s))
            z = sigma * z + (1.0 - sigma) * m
        return z

    return forward


def numerical_jacobians(forward, z0, eps=1e-6):
    """`J[b, i, j] = d y_b,i / d z0_b,j` by central differences."""
    jac = np.zeros(z0.shape + (z0.shape[-1],))
    for j in range(z0.shape[-1]):
        step = np.zeros_like(z0)
        step[:, j] = eps
        jac[:, :, j] = (forward(z0 + step) - forward(z0 - step)) / (2 * eps)
    return jac


def test_iaf_log_det_is_the_log_det_of_the_numerical_jacobian():
    layer = make_iaf(num_steps=2)
    x = features()
    q = layer(x)
    z0 = np.random.default_rng(4).normal(size=(4, LATENT))
    y, log_det = q.flow.forward_and_log_det(z0.astype("float32"))
    forward = numpy_flow(layer, x)
    np.testing.assert_allclose(to_numpy(y), forward(z0), rtol=1e-4, atol=1e-5)
    jac = numerical_jacobians(forward, z0)
    sign, expected = np.linalg.slogdet(jac)
    assert np.all(sign > 0)  # Each step's diagonal is sigma > 0.
    np.testing.assert_allclose(to_numpy(log_det), expected, atol=1e-4)
    # Reversing the order between steps mixes every value with every other.
    assert np.all(np.abs(jac) > 1e-8)


def test_iaf_one_step_has_a_lower_triangular_jacobian():
    layer = make_iaf(num_steps=1, context_units=0)
    x = features()
    q = layer(x)
    z0 = np.random.default_rng(5).normal(size=(4, LATENT))
    forward = numpy_flow(layer, x)
    y, log_det = q.flow.forward_and_log_det(z0.astype("float32"))
    np.testing.assert_allclose(to_numpy(y), forward(z0), rtol=1e-4, atol=1e-5)
    jac = numerical_jacobians(forward, z0)
    _, expected = np.linalg.slogdet(jac)
    np.testing.assert_allclose(to_numpy(log_det), expected, atol=1e-4)
    upper = np.triu(np.ones((LATENT, LATENT), bool), 1)
    assert np.all(jac[:, upper] == 0)
    assert np.all(np.abs(jac[:, ~upper]) > 1e-8)
    # The layer's own map: moving z0_j changes only y_i with i >= j.

    def flow(z):
        y, log_det = q.flow.forward_and_log_det(z)
        return y, y

    found = dependence(flow, z0.astype("float32"), size=0.5)
    np.testing.assert_array_equal(found.T, ~upper)  # found[j, i]


def test_iaf_sample_and_log_prob_is_base_minus_log_det():
    layer = make_iaf()
    q = layer(features())
    assert isinstance(q, Transformed)
    z, log_q = q.sample_and_log_prob(seed=0, sample_shape=(5,))
    assert tuple(z.shape) == (5, 4, LATENT) and tuple(log_q.shape) == (5, 4)
    # The same draws of the base, then the flow, give the same numbers.
    z0, log_q0 = q.base.sample_and_log_prob(seed=0, sample_shape=(5,))
    y, log_det = q.flow.forward_and_log_det(z0)
    np.testing.assert_allclose(to_numpy(z), to_numpy(y), rtol=1e-6)
    np.testing.assert_allclose(
        to_numpy(log_q), to_numpy(log_q0 - log_det), rtol=1e-5, atol=1e-5
    )
    z, log_q = q.sample_and_log_prob(seed=1)
    assert tuple(z.shape) == (4, LATENT) and tuple(log_q.shape) == (4,)
    assert tuple(q.sample(seed=2, sample_shape=5).shape) == (5, 4, LATENT)
    assert np.all(np.isfinite(to_numpy(log_q)))


def test_iaf_gaussian_is_the_head():
    layer = make_iaf()
    x = features()
    gaussian = layer.gaussian(x)
    assert isinstance(gaussian, distributions.Normal)
    mean, log_var = layer.head(x)
    np.testing.assert_allclose(to_numpy(gaussian.mean()), to_numpy(mean))
    np.testing.assert_allclose(to_numpy(gaussian.log_var), to_numpy(log_var))
    np.testing.assert_allclose(to_numpy(layer(x).base.mean()), to_numpy(mean))


def test_iaf_config_round_trip():
    check_config_round_trip(
        InverseAutoregressiveFlow(
            4,
            num_steps=3,
            hidden_units=(5, 6),
            context_units=0,
            forget_bias=2.0,
            activation="relu",
            parameterization="softplus",
            min_log_var=-10.0,
            max_log_var=10.0,
            kernel_initializer="he_normal",
        )
    )
    check_config_round_trip(MADE(hidden_units=(3,), reverse=True))


def test_iaf_bad_arguments():
    for kwargs, match in [
        ({"latent_dim": 0}, "latent_dim=0"),
        ({"num_steps": 0}, "num_steps=0"),
        ({"hidden_units": (4, 0)}, r"hidden_units=\(4, 0\)"),
        ({"hidden_units": 4}, "hidden_units=4"),
        ({"context_units": -1}, "context_units=-1"),
        ({"forget_bias": "1"}, "forget_bias='1'"),
        ({"parameterization": "exp"}, "parameterization='exp'"),
    ]:
        with pytest.raises(ValueError, match=match):
            InverseAutoregressiveFlow(**{"latent_dim": 2, **kwargs})


def test_iaf_under_mixed_bfloat16():
    keras.config.set_dtype_policy("mixed_bfloat16")
    layer = InverseAutoregressiveFlow(LATENT, hidden_units=(8,))
    q = layer(features())
    z, log_q = q.sample_and_log_prob(seed=0, sample_shape=(2,))
    assert dtype_name(z) == "float32" and dtype_name(log_q) == "float32"
    assert np.all(np.isfinite(to_numpy(z)))
    assert np.all(np.isfinite(to_numpy(log_q)))
    assert dtype_name(layer.gaussian(features()).loc) == "float32"
    assert all(dtype_name(w) == "float32" for w in layer.weights)


@keras.saving.register_keras_serializable(package="keras_vae_tests")
class PosteriorHolder(keras.Model):
    """A tiny model holding a posterior: the flow applied to the mean."""

    def __init__(self, posterior, **kwargs):
        super().__init__(**kwargs)
        self.posterior = posterior

    def build(self, input_shape):
        self.posterior.build(input_shape)

    def call(self, x):
        q = self.posterior(x)
        y, log_det = q.flow.forward_and_log_det(q.base.mean())
        return ops.concatenate([y, ops.expand_dims(log_det, -1)], axis=-1)

    def get_config(self):
        config = super().get_config()
        config["posterior"] = keras.saving.serialize_keras_object(
            self.posterior
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["posterior"] = keras.saving.deserialize_keras_object(
            config["posterior"]
        )
        return cls(**config)


def test_iaf_trains_and_saves(tmp_path):
    model = PosteriorHolder(
        InverseAutoregressiveFlow(LATENT, hidden_units=(8,), context_units=4)
    )
    x = features(batch=8)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    model(x)
    before = [to_numpy(w) for w in model.trainable_weights]
    history = model.fit(
        x, np.ones((8, LATENT + 1), "float32"), batch_size=8, verbose=0
    )
    assert np.isfinite(history.history["loss"][0])
    after = [to_numpy(w) for w in model.trainable_weights]
    assert len(before) == 2 + 2 + 2 * 5
    for old, new in zip(before, after, strict=True):
        assert not np.allclose(old, new), "a trainable weight did not change"
    path = os.path.join(tmp_path, "iaf.keras")
    model.save(path)
    revived = keras.saving.load_model(path)
    assert isinstance(revived.posterior, InverseAutoregressiveFlow)
    np.testing.assert_allclose(
        to_numpy(revived(x)), to_numpy(model(x)), rtol=1e-6, atol=1e-6
    )


# --- get -------------------------------------------------------------------


def test_get():
    layer = posteriors.get("iaf", latent_dim=2)
    assert isinstance(layer, InverseAutoregressiveFlow)
    assert layer.latent_dim == 2
    assert posteriors.get(layer) is layer
    # `gaussian` builds an unbuilt layer (its head, context and MADEs).
    assert tuple(layer.gaussian(features()).mean().shape) == (4, 2)
    assert layer.built and len(layer.weights) == 2 + 2 + 2 * (2 * 3 + 1)
    assert isinstance(
        posteriors.get("diagonal_gaussian", latent_dim=3),
        posteriors.DiagonalGaussian,
    )
    config = keras.saving.serialize_keras_object(
        InverseAutoregressiveFlow(2, num_steps=3)
    )
    revived = posteriors.get(config)
    assert isinstance(revived, InverseAutoregressiveFlow)
    assert revived.num_steps == 3
    with pytest.raises(ValueError, match="latent_dim"):
        posteriors.get("iaf")
    with pytest.raises(ValueError, match="posterior='planar'"):
        posteriors.get("planar", latent_dim=2)
