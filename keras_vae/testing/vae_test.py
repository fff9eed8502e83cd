"""A shared test for VAE models, modelled on keras-hub's `run_backbone_test`.

`run_vae_test(cls, init_kwargs, data)` runs the checks every VAE variant
must pass (a training step, a config round trip, a safe-mode `.keras`
round trip with identical outputs, optionally the bound check);
`check_bounds` checks `ELBO <= IWAE bound <= log p(x)` within Monte Carlo
error; `linear_gaussian_vae`, `linear_gaussian_data` and
`exact_log_likelihood` give a model whose `log p(x)` is known exactly.
"""

import json
import math
import os
import tempfile

import keras
import numpy as np

from keras_vae.testing.layer_test import check_config_has_arguments
from keras_vae.testing.layer_test import to_numpy

METRICS = ("loss", "reconstruction", "kl", "elbo")
"""The metrics a VAE reports in `fit` and `evaluate`."""

_FLOAT_RTOL = 1e-4
"""Relative float32 round-off allowed between two estimates of a bound,
on top of their Monte Carlo error (relative to `1 + |value|`)."""


# ----------------------------------------------------------------------
# run_vae_test


def _split(data):
    """`(x, condition)` of test data: a conditional model's data is a pair
    `(x, condition)`; other models' an array (no condition)."""
    if isinstance(data, tuple):
        x, condition = data
        return np.asarray(x), np.asarray(condition)
    return np.asarray(data), None


def _given(condition):
    """The keyword arguments passing `condition` to the numpy API."""
    return {} if condition is None else {"condition": condition}


def _as_json(config):
    """A config as JSON (tuples and lists alike, as in a saved file)."""
    return json.dumps(config, sort_keys=True)


def _check_config(model):
    """Every constructor argument is in the config, the config is JSON,
    and `from_config` and `deserialize_keras_object` (from JSON) give the
    same config."""
    config = model.get_config()
    check_config_has_arguments(model, config)
    as_json = _as_json(config)
    revived = type(model).from_config(json.loads(as_json))
    assert _as_json(revived.get_config()) == as_json, (
        f"{type(model).__name__}.from_config(get_config()) gives another config"
    )
    serialized = json.dumps(keras.saving.serialize_keras_object(model))
    revived = keras.saving.deserialize_keras_object(json.loads(serialized))
    assert type(revived) is type(model)
    assert _as_json(revived.get_config()) == as_json, (
        f"{type(model).__name__} changes its config in a serialization "
        "round trip"
    )


def _check_training_step(model, data, batch_size):
    variables = list(model.trainable_variables)
    before = [to_numpy(v) for v in variables]
    history = model.fit(data, epochs=1, batch_size=batch_size, verbose=0)
    x, _ = _split(data)
    logs = {name: values[-1] for name, values in history.history.items()}
    missing = [name for name in METRICS if name not in logs]
    assert not missing, f"fit reports no {missing}; it reports {sorted(logs)}"
    bad = {
        name: value for name, value in logs.items() if not np.isfinite(value)
    }
    assert not bad, f"non-finite values after one training step: {bad}"
    unchanged = [
        v.path
        for v, old in zip(variables, before)
        if np.array_equal(old, to_numpy(v))
    ]
    assert not unchanged, (
        f"trainable variables unchanged by a training step: {unchanged}"
    )
    # The loss is the negative ELBO when nothing reweights its terms.
    if (
        getattr(model, "objective", None) == "elbo"
        and getattr(model, "beta", None) == 1.0
        and not getattr(model, "kl_warmup_steps", 0)
        and len(x) <= batch_size
    ):
        np.testing.assert_allclose(
            logs["loss"],
            -logs["elbo"],
            rtol=1e-5,
            atol=1e-5,
            err_msg="loss != -elbo for an ELBO objective with beta=1",
        )
        np.testing.assert_allclose(
            logs["elbo"],
            -(logs["reconstruction"] + logs["kl"]),
            rtol=1e-5,
            atol=1e-5,
            err_msg="elbo != -(reconstruction + kl)",
        )
    results = model.evaluate(
        data, batch_size=batch_size, verbose=0, return_dict=True
    )
    missing = [name for name in METRICS if name not in results]
    assert not missing, f"evaluate reports no {missing}"
    bad = {k: v for k, v in results.items() if not np.isfinite(v)}
    assert not bad, f"non-finite values from evaluate: {bad}"
    return logs


def _check_output_shapes(model, data):
    # Symbolic: builds the model without running it (or compiling, on JAX).
    data, condition = _split(data)
    inputs = keras.KerasTensor((2,) + data.shape[1:])
    if condition is not None:
        inputs = [
            inputs,
            keras.KerasTensor(
                (2,) + condition.shape[1:], dtype=condition.dtype.name
            ),
        ]
    outputs = model(inputs)
    likelihood = getattr(model, "likelihood", None)
    if likelihood is None:
        return
    expected = (2,) + tuple(likelihood.params_shape(data.shape[1:]))
    num_samples = getattr(model, "num_samples", 1)
    if num_samples > 1:
        expected = expected[:1] + (num_samples,) + expected[1:]
    assert tuple(outputs.shape) == expected, (
        f"call() returns shape {tuple(outputs.shape)}, expected {expected}"
    )


def _deterministic_outputs(model, data, seed):
    """The outputs of `model`'s inference methods that a seed fixes."""
    x, condition = _split(data)
    x = x[:8]
    given = _given(None if condition is None else condition[: len(x)])
    outputs = {}
    if hasattr(model, "encode"):
        outputs["encode"] = model.encode(x, **given)
        mean = outputs["encode"][0]
        if hasattr(model, "decode"):
            outputs["decode"] = model.decode(mean, **given)
    if hasattr(model, "reconstruct"):
        outputs["reconstruct"] = model.reconstruct(x, **given)
    if hasattr(model, "sample"):
        given = _given(None if condition is None else condition[:3])
        outputs["sample(seed)"] = model.sample(3, seed=seed, **given)
        # The model's own generator: its state is saved with the model.
        outputs["sample()"] = model.sample(3, **given)
    return outputs


def _check_saving(model, data, seed):
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "model.keras")
        model.save(path)
        revived = keras.saving.load_model(path, safe_mode=True)
    assert type(revived) is type(model), (
        f"loaded a {type(revived).__name__}, saved a {type(model).__name__}"
    )
    assert _as_json(revived.get_config()) == _as_json(model.get_config()), (
        "the loaded model has another config"
    )
    # Keras saves and loads by structure: the variables in order (their
    # paths, made from creation-time names, may differ).
    saved, loaded = list(model.variables), list(revived.variables)
    assert len(saved) == len(loaded), (
        f"the loaded model has {len(loaded)} variables, the saved one "
        f"{len(saved)}"
    )
    for old, new in zip(saved, loaded):
        np.testing.assert_array_equal(
            to_numpy(new), to_numpy(old), err_msg=f"variable {old.path}"
        )
    expected = _deterministic_outputs(model, data, seed)
    received = _deterministic_outputs(revived, data, seed)
    for name, value in expected.items():
        keras.tree.map_structure(
            lambda a, b, name=name: np.testing.assert_allclose(
                b, a, rtol=1e-6, atol=1e-6, err_msg=f"{name} after loading"
            ),
            value,
            received[name],
        )
    return revived


def run_vae_test(
    cls,
    init_kwargs,
    data,
    batch_size=None,
    run_saving_check=True,
    run_bound_check=False,
    exact_log_likelihood=None,
    bound_kwargs=None,
    seed=0,
):
    """Runs the standard checks every VAE model must pass.

    1. Output shapes of `call` (the likelihood's parameters, with the
       sample axis if `num_samples > 1`).
    2. A training step (`compile(optimizer="adam")` and one `fit` step):
       the loss and the metrics `loss`, `reconstruction`, `kl`, `elbo` are
       finite, every trainable variable moved, and, for the ELBO with
       `beta=1` and no warm-up, `loss == -elbo == reconstruction + kl`;
       `evaluate` reports the same metrics, finite.
    3. Config round trip, of the trained model: every constructor
       argument is in `get_config`, the config is JSON, and `from_config`
       and `keras.saving.deserialize_keras_object` (from JSON) give the
       same config.
    4. A `.keras` save and load, `safe_mode=True`: same class, config and
       variables, and identical deterministic outputs: `encode`,
       `decode`, `reconstruct`, `sample` (with a seed, and with the
       model's own generator, whose state is saved).
    5. Optionally, `check_bounds` on the data: `ELBO <= IWAE bound`, and
       with `exact_log_likelihood`, `<= log p(x)` with `log_likelihood`
       close to it.

    Args:
        cls: the model class, or a function returning a model from
            `init_kwargs` (such as `linear_gaussian_vae`).
        init_kwargs: dict. Constructor arguments. The model is built once,
            so layers in it (the encoder, the decoder) are used as they
            are.
        data: numpy array `(n, ...)`. Training data (a few dozen examples
            are enough). For a conditional model, a tuple `(x,
            condition)` of arrays, the conditions passed as `condition=`
            to its numpy API.
        batch_size: int or None. The batch size of the training step;
            None: all of `data`, one step.
        run_saving_check: bool. Whether to run step 4.
        run_bound_check: bool. Whether to run step 5.
        exact_log_likelihood: None, or a function `(model, x) -> log p(x)`
            per example (such as `keras_vae.testing.exact_log_likelihood`),
            for step 5.
        bound_kwargs: dict or None. Extra arguments of `check_bounds`.
        seed: int. The seed of the seeded outputs compared in step 4.

    Returns:
        The trained model.

    Raises:
        AssertionError: a check failed; the message says which.

    Example:

    ```python
    import keras
    import numpy as np
    import keras_vae
    from keras_vae.testing import run_vae_test

    encoder = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8)])
    decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(6)])
    x = (np.random.default_rng(0).random((16, 6)) > 0.5).astype("float32")
    run_vae_test(
        keras_vae.VAE,
        {"encoder": encoder, "decoder": decoder, "latent_dim": 2, "seed": 0},
        x,
        run_saving_check=False,
    )
    ```
    """
    if not isinstance(data, tuple):
        data = np.asarray(data)
    x, _ = _split(data)
    batch_size = len(x) if batch_size is None else int(batch_size)
    model = cls(**init_kwargs)

    # 1. Shapes (and the weights built).
    _check_output_shapes(model, data)

    # 2. A training step.
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3))
    _check_training_step(model, data, batch_size)

    # 3. Config, of the built and trained model.
    _check_config(model)

    # 4. Saving.
    if run_saving_check:
        _check_saving(model, data, seed)

    # 5. The bounds.
    if run_bound_check:
        exact = None
        if exact_log_likelihood is not None:
            exact = exact_log_likelihood(model, data)  # A pair, if given.
        check_bounds(model, data, exact=exact, **(bound_kwargs or {}))
    return model


# ----------------------------------------------------------------------
# The bound check


def _estimate(
    vae, x, num_samples, repeats, seed, batch_size, per_step, condition=None
):
    """The mean over `x` of `repeats` independent `log_likelihood(x,
    num_samples)` estimates, and its standard error.

    The examples are fixed: the error is that of the Monte Carlo draws
    only, `sqrt(mean_i var_i / (n * repeats))` with `var_i` the variance of
    example `i`'s estimate (over its repeats). The repeated examples are
    padded to whole batches, so that every estimate runs one compiled
    step, of one shape.
    """
    n = len(x)

    def tile(array):
        tiled = np.repeat(array, repeats, axis=0)
        padding = -len(tiled) % batch_size
        return np.concatenate([tiled, tiled[:padding]])

    given = {} if condition is None else {"condition": tile(condition)}
    values = vae.log_likelihood(
        tile(x),
        **given,
        num_samples=num_samples,
        batch_size=batch_size,
        samples_per_step=per_step,
        seed=seed,
        verbose=0,
    )
    values = np.asarray(values, "float64")[: n * repeats].reshape(n, repeats)
    variance = values.var(axis=1, ddof=1).mean()
    return {
        "mean": float(values.mean()),
        "standard_error": float(math.sqrt(variance / (n * repeats))),
        "per_example": values.mean(axis=1),
    }


def check_bounds(
    vae,
    x,
    exact=None,
    num_samples=8,
    log_likelihood_samples=128,
    max_gap=0.05,
    num_standard_errors=4.0,
    elbo_repeats=32,
    iwae_repeats=16,
    log_likelihood_repeats=4,
    seed=0,
    batch_size=256,
    samples_per_step=16,
):
    """Checks `ELBO <= IWAE(k) bound <= log p(x)`, within Monte Carlo error.

    Estimates, averaged over the examples of `x`, with `vae.log_likelihood`
    (whose estimate with `k` samples is an unbiased estimate of the IWAE
    bound with `k` samples, and with one sample of the ELBO), each from
    independent draws (seeds `seed`, `seed + 1`, `seed + 2`):

    - `elbo`: `elbo_repeats` one-sample estimates per example;
    - `iwae`: `iwae_repeats` estimates with `num_samples` samples;
    - `log_likelihood`: `log_likelihood_repeats` estimates with
      `log_likelihood_samples` samples.

    Each has its standard error (`sqrt(mean_i var_i / (n * repeats))`: the
    examples are fixed, the draws are the only noise). Checked, with a
    margin of `num_standard_errors` standard errors (of the difference)
    plus float32 round-off (`1e-4 * (1 + |value|)`):

    - `elbo <= iwae`;
    - with `exact` (the true `log p(x)`, per example): `iwae <= exact`,
      `log_likelihood <= exact`, and `log_likelihood >= exact - max_gap`
      (the IWAE bias left with many samples, in nats per example).

    Args:
        vae: a trained model with `log_likelihood(x, num_samples, ...)`.
        x: numpy array `(n, ...)`: the examples; for a conditional model,
            a pair `(x, condition)`.
        exact: None or an array `(n,)`: the exact `log p(x)` of each
            example (for a linear-Gaussian model,
            `exact_log_likelihood(vae, x)`).
        num_samples: int > 1. The `k` of the IWAE bound, default 8.
        log_likelihood_samples: int. Samples of the `log_likelihood`
            estimate, default 128.
        max_gap: float >= 0. How far below `exact` the `log_likelihood`
            estimate may be, in nats per example, default 0.05.
        num_standard_errors: float. The Monte Carlo margin, default 4.
        elbo_repeats: int > 1. Estimates per example of the ELBO.
        iwae_repeats: int > 1. Estimates per example of the IWAE bound.
        log_likelihood_repeats: int > 1. Estimates per example of
            `log p(x)`.
        seed: int. The first of the three seeds.
        batch_size: int. Examples per step of `log_likelihood`, default
            256.
        samples_per_step: int. Samples per example per step of
            `log_likelihood`, default 16. All three estimates use the
            same, so that they share one compiled step.

    Returns:
        A dict: `elbo`, `iwae`, `log_likelihood` (each a dict with `mean`,
        `standard_error`, `per_example`), and `exact` (the mean, or None).

    Raises:
        AssertionError: a bound is violated beyond the margin.

    Example:

    ```python
    from keras_vae.testing import check_bounds
    from keras_vae.testing import exact_log_likelihood
    from keras_vae.testing import linear_gaussian_data
    from keras_vae.testing import linear_gaussian_vae

    vae = linear_gaussian_vae(data_dim=4, latent_dim=2, seed=0)
    x = linear_gaussian_data(vae, 16, seed=1)
    result = check_bounds(vae, x, exact_log_likelihood(vae, x))
    result["elbo"]["mean"]  # == result["exact"]: the posterior is exact
    ```
    """
    x, condition = _split(x)
    x = x.astype("float32", copy=False)
    for name, value in (
        ("elbo_repeats", elbo_repeats),
        ("iwae_repeats", iwae_repeats),
        ("log_likelihood_repeats", log_likelihood_repeats),
    ):
        if not isinstance(value, int) or value < 2:
            raise ValueError(
                f"`{name}` must be an int >= 2 (a standard error needs two "
                f"estimates). Received: {name}={value!r}"
            )
    k = num_samples
    settings = {
        "batch_size": batch_size,
        "per_step": samples_per_step,
        "condition": condition,
    }
    elbo = _estimate(vae, x, 1, elbo_repeats, seed, **settings)
    iwae = _estimate(vae, x, k, iwae_repeats, seed + 1, **settings)
    result = {"elbo": elbo, "iwae": iwae, "exact": None}

    def margin(*estimates, reference):
        error = math.sqrt(sum(e["standard_error"] ** 2 for e in estimates))
        return num_standard_errors * error + _FLOAT_RTOL * (
            1.0 + abs(reference)
        )

    def describe(estimate):
        return f"{estimate['mean']:.5f} +- {estimate['standard_error']:.5f}"

    assert elbo["mean"] <= iwae["mean"] + margin(
        elbo, iwae, reference=iwae["mean"]
    ), (
        f"ELBO {describe(elbo)} > IWAE bound (k={k}) {describe(iwae)}, "
        "beyond Monte Carlo error"
    )
    if exact is None:
        return result

    exact = np.asarray(exact, "float64").reshape(-1)
    if exact.shape != (len(x),):
        raise ValueError(
            f"`exact` must hold one log p(x) per example, {len(x)}. "
            f"Received shape {exact.shape}"
        )
    reference = float(exact.mean())
    result["exact"] = reference
    assert iwae["mean"] <= reference + margin(iwae, reference=reference), (
        f"IWAE bound (k={k}) {describe(iwae)} > exact log p(x) "
        f"{reference:.5f}, beyond Monte Carlo error"
    )
    estimate = _estimate(
        vae,
        x,
        log_likelihood_samples,
        log_likelihood_repeats,
        seed + 2,
        **settings,
    )
    result["log_likelihood"] = estimate
    allowed = margin(estimate, reference=reference)
    assert estimate["mean"] <= reference + allowed, (
        f"log_likelihood (k={log_likelihood_samples}) {describe(estimate)} "
        f"> exact log p(x) {reference:.5f}, beyond Monte Carlo error"
    )
    assert estimate["mean"] >= reference - max_gap - allowed, (
        f"log_likelihood (k={log_likelihood_samples}) {describe(estimate)} "
        f"is more than max_gap={max_gap} nats below the exact log p(x) "
        f"{reference:.5f}"
    )
    return result


# ----------------------------------------------------------------------
# A linear-Gaussian VAE, whose log p(x) is known


def linear_gaussian_vae(
    data_dim=6,
    latent_dim=2,
    variance=0.25,
    posterior="exact",
    seed=0,
    **vae_kwargs,
):
    """A linear-Gaussian VAE, whose `log p(x)` has a closed form.

    The decoder is linear, `x = W z + b` (one `Dense` layer), with the
    Gaussian likelihood of fixed `variance` and the standard normal prior:
    a probabilistic PCA model, whose marginal is
    `p(x) = N(x; b, W W^T + variance * I)` (`exact_log_likelihood`). `W`
    has orthogonal columns of norms spread over `[1, 2]`, so that the true
    posterior `p(z|x) = N(S W^T (x - b) / variance, S)`, with
    `S = (I + W^T W / variance)^-1`, is a diagonal Gaussian whose mean is
    linear in `x`: the VAE's encoder (the identity, then its linear
    `DiagonalGaussian` head) can represent it exactly. With
    `posterior="exact"` the head's weights are set to it, so the ELBO, the
    IWAE bound and `log_likelihood` all equal `log p(x)`; with
    `posterior="initial"` they are left as initialized, for a fit to learn.

    Args:
        data_dim: int > 0. The data's size, default 6.
        latent_dim: int, `0 < latent_dim <= data_dim`. Default 2.
        variance: float > 0. The likelihood's variance, default 0.25.
        posterior: `"exact"` (default) or `"initial"`.
        seed: int. The seed of `W`, `b` and the model's noise.
        **vae_kwargs: further `keras_vae.VAE` arguments (e.g.
            `objective`, `num_samples`).

    Returns:
        A built `keras_vae.VAE`.

    Example:

    ```python
    from keras_vae.testing import exact_log_likelihood
    from keras_vae.testing import linear_gaussian_data
    from keras_vae.testing import linear_gaussian_vae

    vae = linear_gaussian_vae(data_dim=6, latent_dim=2, seed=0)
    x = linear_gaussian_data(vae, 8, seed=1)  # (8, 6)
    exact = exact_log_likelihood(vae, x)  # (8,)
    estimate = vae.log_likelihood(x, num_samples=10, verbose=0)  # == exact
    ```
    """
    from keras_vae.models.vae import VAE

    if posterior not in ("exact", "initial"):
        raise ValueError(
            "`posterior` must be 'exact' or 'initial'. Received: "
            f"posterior={posterior!r}"
        )
    if not 0 < latent_dim <= data_dim:
        raise ValueError(
            "`latent_dim` must be in [1, data_dim]. Received: "
            f"latent_dim={latent_dim}, data_dim={data_dim}"
        )
    rng = np.random.default_rng(seed)
    columns, _ = np.linalg.qr(rng.normal(size=(data_dim, latent_dim)))
    norms = np.linspace(1.0, 2.0, latent_dim)
    kernel = (columns * norms).T  # (latent_dim, data_dim): W^T.
    bias = rng.normal(scale=0.5, size=data_dim)
    encoder = keras.Sequential(
        [keras.Input((data_dim,)), keras.layers.Identity()], name="encoder"
    )
    decoder = keras.Sequential(
        [keras.Input((latent_dim,)), keras.layers.Dense(data_dim)],
        name="decoder",
    )
    vae = VAE(
        encoder,
        decoder,
        latent_dim=latent_dim,
        likelihood="gaussian",
        gaussian_variance=variance,
        seed=seed,
        **vae_kwargs,
    )
    vae(np.zeros((1, data_dim), "float32"))  # Build.
    decoder.layers[-1].kernel.assign(kernel.astype("float32"))
    decoder.layers[-1].bias.assign(bias.astype("float32"))
    if posterior == "exact":
        set_exact_posterior(vae)
    return vae


def _linear_gaussian_parameters(vae):
    """`(kernel (L, D), bias (D,), variance)` of a linear-Gaussian VAE,
    read from its weights; a ValueError if it is not one."""
    from keras_vae import likelihoods
    from keras_vae import priors

    variance = getattr(vae.likelihood, "variance", None)
    if not isinstance(vae.likelihood, likelihoods.Gaussian) or isinstance(
        variance, str
    ):
        raise ValueError(
            "A linear-Gaussian VAE has a Gaussian likelihood of fixed "
            f"variance. Received: likelihood={vae.likelihood!r}"
        )
    if type(vae.prior) is not priors.StandardNormal:
        raise ValueError(
            "A linear-Gaussian VAE has the standard normal prior. "
            f"Received: prior={vae.prior!r}"
        )
    weights = [to_numpy(w).astype("float64") for w in vae.decoder.weights]
    latent_dim = vae.latent_dim
    if len(weights) != 2 or weights[0].ndim != 2 or weights[1].ndim != 1:
        raise ValueError(
            "A linear-Gaussian VAE's decoder is one `Dense` layer (a kernel "
            "and a bias). Received a decoder with weights of shapes "
            f"{[w.shape for w in weights]}"
        )
    kernel, bias = weights
    # Linear: the decoder's output is z @ kernel + bias.
    z = np.random.default_rng(0).normal(size=(4, latent_dim))
    outputs = to_numpy(vae.decoder(z.astype("float32"))).astype("float64")
    if not np.allclose(outputs, z @ kernel + bias, rtol=1e-4, atol=1e-4):
        raise ValueError("The decoder is not the linear map z @ W + b.")
    return kernel, bias, float(variance)


def exact_log_likelihood(vae, x):
    """The exact `log p(x)` of a linear-Gaussian VAE, in numpy (float64).

    For the decoder `x = W z + b` (its `Dense` layer's current weights),
    a Gaussian likelihood of fixed variance `sigma^2` and the prior
    `N(0, I)`: `log p(x) = log N(x; b, W W^T + sigma^2 I)`.

    Args:
        vae: a VAE as `linear_gaussian_vae` makes it (trained or not).
        x: array `(n, data_dim)`.

    Returns:
        A float64 numpy array `(n,)`, in nats.

    Raises:
        ValueError: the model is not linear-Gaussian.

    Example:

    ```python
    import numpy as np
    from keras_vae.testing import exact_log_likelihood
    from keras_vae.testing import linear_gaussian_vae

    vae = linear_gaussian_vae(data_dim=3, latent_dim=1)
    exact_log_likelihood(vae, np.zeros((2, 3)))  # (2,)
    ```
    """
    kernel, bias, variance = _linear_gaussian_parameters(vae)
    x = np.asarray(x, "float64").reshape(len(x), -1)
    dim = x.shape[1]
    covariance = kernel.T @ kernel + variance * np.eye(dim)
    _, log_det = np.linalg.slogdet(covariance)
    centred = x - bias
    mahalanobis = np.einsum(
        "nd,nd->n", centred, np.linalg.solve(covariance, centred.T).T
    )
    return -0.5 * (dim * math.log(2.0 * math.pi) + log_det + mahalanobis)


def linear_gaussian_data(vae, num_examples, seed=0):
    """Draws data from a linear-Gaussian VAE's model, `N(b, W W^T + s^2 I)`.

    Args:
        vae: a VAE as `linear_gaussian_vae` makes it.
        num_examples: int > 0.
        seed: int. The seed of the draws.

    Returns:
        A float32 numpy array `(num_examples, data_dim)`.

    Example:

    ```python
    from keras_vae.testing import linear_gaussian_data
    from keras_vae.testing import linear_gaussian_vae

    x = linear_gaussian_data(linear_gaussian_vae(), 64)  # (64, 6)
    ```
    """
    kernel, bias, variance = _linear_gaussian_parameters(vae)
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(num_examples, kernel.shape[0]))
    noise = rng.normal(
        scale=math.sqrt(variance), size=(num_examples, len(bias))
    )
    return (z @ kernel + bias + noise).astype("float32")


def set_exact_posterior(vae):
    """Sets a linear-Gaussian VAE's encoder head to the true posterior.

    The true posterior is `N(S W^T (x - b) / sigma^2, S)` with
    `S = (I + W^T W / sigma^2)^-1`; the head (a `DiagonalGaussian` with the
    `"log_var"` parameterization, on the identity encoder) gets the kernel
    and bias that output its mean and its log-variance. `W` must have
    orthogonal columns (as `linear_gaussian_vae` makes it), so that `S` is
    diagonal.

    Args:
        vae: a VAE as `linear_gaussian_vae` makes it.

    Raises:
        ValueError: the model is not linear-Gaussian, its encoder head is
            not a linear log-variance head on the data, or `W^T W` is not
            diagonal.

    Example:

    ```python
    from keras_vae.testing import linear_gaussian_vae
    from keras_vae.testing import set_exact_posterior

    vae = linear_gaussian_vae(posterior="initial")
    set_exact_posterior(vae)  # As `posterior="exact"` does.
    ```
    """
    kernel, bias, variance = _linear_gaussian_parameters(vae)
    gram = kernel @ kernel.T  # W^T W, (L, L).
    if not np.allclose(gram, np.diag(np.diag(gram)), atol=1e-4):
        raise ValueError(
            "The decoder's columns are not orthogonal: the true posterior "
            "is not a diagonal Gaussian."
        )
    head = vae.posterior
    latent_dim = vae.latent_dim
    data_dim = len(bias)
    if (
        getattr(head, "parameterization", None) != "log_var"
        or tuple(head.kernel.shape) != (data_dim, 2 * latent_dim)
        or any(
            len(layer.weights) for layer in getattr(vae.encoder, "layers", [])
        )
    ):
        raise ValueError(
            "`set_exact_posterior` needs the weightless encoder and the "
            "default `DiagonalGaussian` head of `linear_gaussian_vae`."
        )
    posterior_variance = 1.0 / (1.0 + np.diag(gram) / variance)  # (L,)
    # mean = (x - b) @ A, A = W S / sigma^2: (D, L).
    projection = kernel.T * posterior_variance / variance
    head_kernel = np.concatenate(
        [projection, np.zeros((data_dim, latent_dim))], axis=1
    )
    head_bias = np.concatenate([-bias @ projection, np.log(posterior_variance)])
    head.kernel.assign(head_kernel.astype("float32"))
    head.bias.assign(head_bias.astype("float32"))
