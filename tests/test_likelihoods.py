"""Likelihood layers: identifiers, configs, shapes and data checks."""

import keras
import numpy as np
import pytest
from keras import ops

from keras_vae import distributions
from keras_vae import likelihoods
from keras_vae.likelihoods import Bernoulli
from keras_vae.likelihoods import Categorical
from keras_vae.likelihoods import DiscretizedLogisticMixture
from keras_vae.likelihoods import Gaussian
from keras_vae.likelihoods import Poisson
from keras_vae.testing import check_config_round_trip
from keras_vae.testing import dtype_name
from keras_vae.testing import to_numpy

ALIASES = {
    "bernoulli": (Bernoulli, {}),
    "gaussian": (Gaussian, {"variance": 1.0}),
    "gaussian_learned": (Gaussian, {"variance": "learned"}),
    "gaussian_predicted": (Gaussian, {"variance": "predicted"}),
    "categorical": (Categorical, {"num_classes": 256}),
    "discretized_logistic_mixture": (
        DiscretizedLogisticMixture,
        {"num_mixtures": 5, "num_bins": 256, "low": 0.0, "high": 1.0},
    ),
    "poisson": (Poisson, {}),
}


def custom():
    """Non-default likelihoods: `serialize` gives their config dicts."""
    return [
        Gaussian(variance=0.1),
        Categorical(num_classes=10),
        DiscretizedLogisticMixture(num_mixtures=3, num_bins=16, low=-1, high=1),
        Poisson(name="counts"),
    ]


DATA_SHAPE = (4, 3)


# --- get and serialize --------------------------------------------------------


# (Loops rather than parametrized tests: each test costs a fresh Keras
# session, more than these checks.)


def test_get_each_alias_and_serialize_back_to_it():
    for alias, (cls, config) in ALIASES.items():
        likelihood = likelihoods.get(alias)
        assert type(likelihood) is cls, alias
        assert likelihood.describe() == alias
        for key, value in config.items():
            assert likelihood.get_config()[key] == value, (alias, key)
        assert likelihoods.serialize(likelihood) == alias
        assert likelihoods.get(alias) is not likelihood  # A new one.


def test_serialize_and_get_round_trip_a_config_dict():
    for likelihood in custom():
        config = likelihoods.serialize(likelihood)
        if isinstance(likelihood, Poisson):  # A name alone: the alias.
            assert config == "poisson"
            continue
        assert isinstance(config, dict), likelihood
        revived = likelihoods.get(config)
        assert type(revived) is type(likelihood)
        assert revived.get_config() == likelihood.get_config()
        check_config_round_trip(likelihood)
        # From its config, without `.keras` files.
        rebuilt = type(likelihood).from_config(likelihood.get_config())
        assert rebuilt.get_config() == likelihood.get_config()


def test_get_a_config_dict_and_an_object():
    likelihood = likelihoods.get(
        {"class_name": "Categorical", "config": {"num_classes": 7}}
    )
    assert isinstance(likelihood, Categorical) and likelihood.num_classes == 7
    likelihood = likelihoods.get(
        {
            "module": "keras_vae.likelihoods",
            "class_name": "DiscretizedLogisticMixture",
            "config": {"num_mixtures": 2, "high": 2.0},
            "registered_name": "keras_vae>DiscretizedLogisticMixture",
        }
    )
    assert likelihood.num_mixtures == 2 and likelihood.high == 2.0
    poisson = Poisson()
    assert likelihoods.get(poisson) is poisson


def test_get_refuses_unknown_names():
    for identifier in ("poison", "Categorical", "", "gaussian_fixed"):
        with pytest.raises(ValueError) as info:
            likelihoods.get(identifier)
        message = str(info.value)
        assert "`likelihood`" in message
        assert f"likelihood={identifier!r}" in message
        for alias in ALIASES:  # The message lists the names there are.
            assert repr(alias) in message


def test_get_refuses_other_types():
    for identifier in (None, 3, 1.5, ["poisson"], Poisson, object()):
        with pytest.raises(ValueError, match="`likelihood` must be a") as e:
            likelihoods.get(identifier)
        assert repr(identifier) in str(e.value)
    dense = keras.layers.Dense(2)  # A layer, but not a likelihood.
    with pytest.raises(ValueError, match="`likelihood` must be a"):
        likelihoods.get(dense)


def test_get_refuses_bad_config_dicts():
    for identifier in (
        {"class_name": "NoSuchLikelihood", "config": {}},
        {"class_name": "Categorical", "config": {"num_classes": 1}},
        {"class_name": "Dense", "config": {"units": 2}},
    ):
        with pytest.raises(ValueError, match="likelihood") as info:
            likelihoods.get(identifier)
        assert repr(identifier) in str(info.value)


# --- Constructor arguments ----------------------------------------------------


def test_bad_constructor_arguments_name_the_argument():
    for make, name in (
        (lambda: Categorical(num_classes=1), "num_classes"),
        (lambda: Categorical(num_classes=2.5), "num_classes"),
        (lambda: DiscretizedLogisticMixture(num_mixtures=0), "num_mixtures"),
        (lambda: DiscretizedLogisticMixture(num_bins=1), "num_bins"),
        (lambda: DiscretizedLogisticMixture(num_bins=True), "num_bins"),
        (lambda: DiscretizedLogisticMixture(low=2.0), "low"),
        (lambda: DiscretizedLogisticMixture(high=float("nan")), "high"),
    ):
        with pytest.raises(ValueError, match=f"`{name}`"):
            make()


# --- Shapes of the parameters -------------------------------------------------


def test_params_shape_and_check_params():
    for likelihood, extra in (
        (Categorical(), (256,)),
        (Categorical(num_classes=10), (10,)),
        (DiscretizedLogisticMixture(), (15,)),
        (DiscretizedLogisticMixture(num_mixtures=2), (6,)),
        (Poisson(), ()),
    ):
        expected = (28, 28, 1) + extra
        assert likelihood.params_shape((28, 28, 1)) == expected
        likelihood.check_params(expected, (28, 28, 1))
        likelihood.check_params((None,) * len(expected), (28, 28, 1))
        wrong = (28, 28, 1) if extra else (28, 28, 1, 2)
        with pytest.raises(ValueError) as info:
            likelihood.check_params(wrong, (28, 28, 1))
        message = str(info.value)
        assert str(expected) in message and str(wrong) in message
        assert likelihood.describe() in message


# --- Data checks --------------------------------------------------------------


def checks():
    return [
        (Categorical(), [0, 17, 255], [0, 256], r"\[0, 255\]"),
        (Categorical(), [0.0, 3.0], [-1, 3], r"\[0, 255\]"),
        (Categorical(), [0.0, 3.0], [0.0, 3.5], "non-integer"),
        (Categorical(10), np.arange(10), [10], r"\[0, 9\]"),
        (Poisson(), [0, 1, 10**6], [-1, 2], r"\[0, inf\]"),
        (Poisson(), [0.0, 7.0], [0.5, 1.0], "non-integer"),
        (Poisson(), [0.0], [1.0, np.inf], "non-finite"),
        (
            DiscretizedLogisticMixture(),
            np.arange(256) / 255,
            [0.0, 1.5],
            r"\[0, 1\]",
        ),
        (
            DiscretizedLogisticMixture(),
            [0.0, 1.0],
            [0.0, 0.5 / 255],
            "off the grid",
        ),
        (
            DiscretizedLogisticMixture(num_bins=5, low=-1.0, high=1.0),
            [-1.0, -0.5, 0.0, 1.0],
            [0.0, 0.1],
            "off the grid",
        ),
    ]


def test_check_data_refuses_data_outside_the_support():
    for likelihood, good, bad, match in checks():
        likelihood.check_data("x", np.asarray(good))
        with pytest.raises(ValueError, match=match) as info:
            likelihood.check_data("x", np.asarray(bad, "float32"))
        assert "`x`" in str(info.value)


def test_check_data_messages_teach_the_fix():
    with pytest.raises(ValueError, match=r"x / 255\.0"):
        DiscretizedLogisticMixture().check_data(
            "x", np.arange(256, dtype="uint8")
        )
    with pytest.raises(ValueError, match=r"np\.round\(x \* 255\) / 255"):
        DiscretizedLogisticMixture().check_data("x", np.array([0.3]))
    with pytest.raises(ValueError, match="at index"):
        Poisson().check_data("counts", np.array([[1.0, 2.5]]))


def test_check_data_on_bfloat16_and_backend_tensors():
    # Non-integer values in a dtype numpy does not know (ml_dtypes).
    half = ops.cast(np.array([1.0, 2.5]), "bfloat16")
    with pytest.raises(ValueError, match="non-integer"):
        Poisson().check_data("x", half)
    Poisson().check_data("x", ops.cast(np.array([1.0, 3.0]), "bfloat16"))
    on_grid = ops.convert_to_tensor(np.arange(256) / 255)
    DiscretizedLogisticMixture().check_data("x", on_grid)
    with pytest.raises(ValueError, match="off the grid"):
        DiscretizedLogisticMixture().check_data("x", on_grid[:-1] + 0.001)
    # Data sets and other values are not arrays: left alone.
    Categorical().check_data("x", [0.5, 300])


# --- The distributions they build ---------------------------------------------


def random_params(likelihood, batch=2, seed=0):
    rng = np.random.default_rng(seed)
    shape = (batch,) + likelihood.params_shape(DATA_SHAPE)
    return rng.normal(size=shape).astype("float32")


def test_categorical_builds_a_categorical_over_the_classes():
    likelihood = Categorical(num_classes=5)
    params = random_params(likelihood)
    p = likelihood(params)
    assert isinstance(p, distributions.Categorical)
    assert p.batch_shape == (2,) and p.event_shape == DATA_SHAPE
    x = np.random.default_rng(1).integers(0, 5, size=(2,) + DATA_SHAPE)
    log_p = p.log_prob(x)
    assert tuple(log_p.shape) == (2,) and dtype_name(log_p) == "float32"
    direct = distributions.Categorical(params, event_ndims=2).log_prob(x)
    np.testing.assert_allclose(to_numpy(log_p), to_numpy(direct))
    mean = to_numpy(likelihood.mean(params))
    assert mean.shape == (2,) + DATA_SHAPE
    assert mean.min() >= 0 and mean.max() <= 4
    assert likelihood(params, event_ndims=1).event_shape == DATA_SHAPE[1:]


def test_dlm_splits_logits_means_and_log_scales_in_that_order():
    likelihood = DiscretizedLogisticMixture(num_mixtures=2)
    params = random_params(likelihood)
    params[..., 2:4] = 0.5 + 0.1 * params[..., 2:4]  # Means inside [0, 1].
    p = likelihood(params)
    assert isinstance(p, distributions.DiscretizedLogisticMixture)
    assert p.batch_shape == (2,) and p.event_shape == DATA_SHAPE
    x = np.random.default_rng(1).integers(0, 256, (2,) + DATA_SHAPE) / 255
    direct = distributions.DiscretizedLogisticMixture(
        params[..., :2], params[..., 2:4], params[..., 4:], event_ndims=2
    )
    np.testing.assert_allclose(
        to_numpy(p.log_prob(x)), to_numpy(direct.log_prob(x)), rtol=1e-6
    )
    np.testing.assert_allclose(
        to_numpy(likelihood.mean(params)), to_numpy(direct.mean()), rtol=1e-6
    )
    grid = DiscretizedLogisticMixture(num_mixtures=2, num_bins=5, low=-1)
    p = grid(params)
    assert (p.num_bins, p.low, p.high) == (5, -1.0, 1.0)


def test_poisson_builds_poissons_from_log_rates():
    likelihood = Poisson()
    params = random_params(likelihood)
    p = likelihood(params)
    assert isinstance(p, distributions.Poisson)
    assert p.batch_shape == (2,) and p.event_shape == DATA_SHAPE
    np.testing.assert_allclose(
        to_numpy(likelihood.mean(params)), np.exp(params), rtol=1e-6
    )
    x = np.random.default_rng(1).integers(0, 5, (2,) + DATA_SHAPE)
    log_p = to_numpy(p.log_prob(x))
    assert log_p.shape == (2,) and np.all(np.isfinite(log_p))


def test_parameters_stay_float32_under_mixed_bfloat16():
    # The layer does not cast its inputs to the bfloat16 compute dtype:
    # a mean of 0.123456 would become 0.12354, off by a fifth of a bin.
    keras.config.set_dtype_policy("mixed_bfloat16")
    for likelihood, field in (
        (Categorical(num_classes=5), "logits"),
        (Poisson(), "log_rate"),
        (DiscretizedLogisticMixture(num_mixtures=2), "means"),
    ):
        params = random_params(likelihood) * 0.1 + 0.123456
        p = likelihood(ops.convert_to_tensor(params))
        expected = params[..., 2:4] if field == "means" else params
        np.testing.assert_array_equal(to_numpy(getattr(p, field)), expected)
        x = np.zeros((2,) + DATA_SHAPE, "float32")
        assert dtype_name(p.log_prob(x)) == "float32"
        assert dtype_name(likelihood.mean(params)) == "float32"
        assert not likelihood.weights  # Nothing to train in it.
