"""Training objectives of a `keras_vae.VAE`: the bound, and extra terms.

An objective turns the terms of a batch (the reconstruction log-likelihood
of each draw, the KL, the draws themselves) into the losses the model adds
with `add_loss`, and reports its extra terms as metrics. `VAE(objective=)`
takes a name (`"elbo"`, `"iwae"`, `"beta_tcvae"`, `"mmd"`), a config dict
or an object of this module, as `keras.losses.get` does.

- `ELBO`: the evidence lower bound (the default).
- `IWAE`: the importance-weighted bound of Burda et al. (2015), with the
  model's `num_samples` draws.
- `BetaTCVAE`: the ELBO with its total-correlation term weighted
  (Chen et al., 2018), for disentangled latent dimensions.
- `MMD`: the ELBO plus a maximum mean discrepancy between the aggregate
  posterior and the prior (InfoVAE, Zhao et al., 2017).
"""

import keras
from keras import ops

from keras_vae import _validation
from keras_vae import distributions
from keras_vae import ops as vae_ops


class Objective:
    """Base class: the losses of a batch, from the terms of its bound.

    Subclasses set `metrics` (the names of their extra terms, reported in
    `fit` besides `loss`, `reconstruction`, `kl` and `elbo`) and
    `log_weights` (whether they need `log p(z)` and `log q(z|x)` of every
    draw), and implement `losses`. Register a subclass with
    `keras.saving.register_keras_serializable` and give it `get_config`,
    so that models using it save and load.

    Example:

    ```python
    import keras
    from keras import ops
    import keras_vae


    @keras.saving.register_keras_serializable(package="my_package")
    class FreeBits(keras_vae.objectives.Objective):
        # The ELBO with the KL counted only above `nats` per example.
        name = "free_bits"
        metrics = ("kl_counted",)

        def __init__(self, nats=1.0):
            self.nats = nats

        def losses(self, terms, kl_weight, seed):
            counted = ops.mean(ops.maximum(terms["kl"], self.nats))
            reconstruction = -ops.mean(terms["log_px"])
            return [reconstruction, kl_weight * counted], {
                "kl_counted": counted
            }

        def get_config(self):
            return {"nats": self.nats}


    encoder = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8)])
    decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(6)])
    vae = keras_vae.VAE(encoder, decoder, latent_dim=2, objective=FreeBits())
    ```
    """

    name = None
    metrics = ()
    log_weights = False

    def losses(self, terms, kl_weight, seed):
        """The loss terms of a batch, and the extra metrics.

        Args:
            terms: dict of the batch's terms (`VAE._terms`): `log_px`
                `(k, B)`, `kl` `(B,)`, `z` `(k, B, L)`, `q` and `p` (the
                posterior and prior distributions), and with
                `log_weights`, `log_pz` and `log_qz` `(k, B)`.
            kl_weight: scalar tensor. The KL weight in force (`beta`
                times the warm-up ramp).
            seed: a `keras.random.SeedGenerator` for any noise.

        Returns:
            `(losses, metrics)`: a list of scalar tensors, whose sum is
            the loss, and a dict `{name: scalar tensor}` of `metrics`.
        """
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __eq__(self, other):
        return type(self) is type(other) and (
            self.get_config() == other.get_config()
        )

    def __hash__(self):
        return hash((type(self), repr(sorted(self.get_config().items()))))

    def __repr__(self):
        arguments = ", ".join(
            f"{k}={v!r}" for k, v in self.get_config().items()
        )
        return f"{type(self).__name__}({arguments})"


def _elbo_losses(terms, kl_weight):
    """The two terms of the negative ELBO, averaged over the batch."""
    return [-ops.mean(terms["log_px"]), kl_weight * ops.mean(terms["kl"])]


@keras.saving.register_keras_serializable(package="keras_vae")
class ELBO(Objective):
    """The evidence lower bound, `E_q[log p(x|z)] - KL(q(z|x) || p(z))`.

    The loss is `reconstruction + kl_weight * kl`, averaged over the
    batch (and the draws, with `num_samples > 1`).

    Example:

    ```python
    import keras_vae

    objective = keras_vae.objectives.get("elbo")  # ELBO()
    ```
    """

    name = "elbo"

    def losses(self, terms, kl_weight, seed):
        return _elbo_losses(terms, kl_weight), {}


@keras.saving.register_keras_serializable(package="keras_vae")
class IWAE(Objective):
    """The importance-weighted bound of Burda et al. (2015).

    With the model's `k = num_samples` draws per example,
    `log (1/k) sum_i p(x|z_i) p(z_i)^w / q(z_i|x)^w` with `w` the KL
    weight (1 after any warm-up): tighter than the ELBO for `k > 1`, equal
    to it for `k = 1`.

    Example:

    ```python
    import keras_vae

    objective = keras_vae.objectives.get("iwae")  # IWAE()
    ```
    """

    name = "iwae"
    log_weights = True

    def losses(self, terms, kl_weight, seed):
        log_w = terms["log_px"] + kl_weight * (
            terms["log_pz"] - terms["log_qz"]
        )
        return [-ops.mean(vae_ops.log_mean_exp(log_w, axis=0))], {}


def total_correlation(z, loc, log_var, dataset_size=None):
    """The minibatch-weighted estimate of the total correlation of `q(z)`.

    For a batch of `M` draws `z_i ~ q(z|x_i)` from a data set of `N`
    examples, with `q(z) = (1/N) sum_n q(z|x_n)` the aggregate posterior
    (Chen et al., 2018, minibatch weighted sampling):

        log q(z_i)     ~= logsumexp_j log q(z_i|x_j)       - log(N M)
        log q_d(z_id)  ~= logsumexp_j log q_d(z_id|x_j)    - log(N M)
        TC             ~= mean_i [log q(z_i) - sum_d log q_d(z_id)]

    Args:
        z: tensor `(M, L)`, one draw per example.
        loc: tensor `(M, L)`, the means of the Gaussian posteriors.
        log_var: tensor `(M, L)`, their log-variances.
        dataset_size: int or None. `N`; None takes the batch as the data
            set (`N = M`): the same gradients, and an estimate lower by
            `(L - 1) log(N / M)` than with the true `N`.

    Returns:
        A float32 scalar tensor, in nats.

    Example:

    ```python
    import numpy as np
    from keras_vae.objectives import total_correlation

    rng = np.random.default_rng(0)
    loc = rng.normal(size=(64, 3)).astype("float32")
    log_var = np.full((64, 3), -2.0, "float32")
    z = loc + np.exp(log_var / 2) * rng.normal(size=(64, 3)).astype("float32")
    tc = float(total_correlation(z, loc, log_var, dataset_size=1000))
    ```
    """
    z = ops.cast(z, "float32")
    loc = ops.cast(loc, "float32")
    log_var = ops.cast(log_var, "float32")
    batch = ops.cast(ops.shape(z)[0], "float32")
    size = batch if dataset_size is None else float(dataset_size)
    log_nm = ops.log(size * batch)
    # (i, j, d): log q_d(z_id | x_j).
    pairwise = vae_ops.normal_log_prob(
        ops.expand_dims(z, 1),
        ops.expand_dims(loc, 0),
        ops.expand_dims(log_var, 0),
        event_ndims=0,
    )
    log_qz = ops.logsumexp(ops.sum(pairwise, axis=2), axis=1) - log_nm
    log_marginals = ops.sum(ops.logsumexp(pairwise, axis=1) - log_nm, axis=1)
    return ops.mean(log_qz - log_marginals)


@keras.saving.register_keras_serializable(package="keras_vae")
class BetaTCVAE(Objective):
    """The beta-TCVAE objective (Chen et al., 2018).

    The KL term of the ELBO, averaged over the data, splits into the
    mutual information between `x` and `z`, the total correlation (TC) of
    the aggregate posterior `q(z)` (how far its dimensions are from
    independent) and the KL of each dimension to the prior. beta-TCVAE
    weights the TC alone by `tc_weight` (the paper's beta; its alpha and
    gamma are 1):

        loss = reconstruction + w * (kl + (tc_weight - 1) * TC)

    with `w` the model's KL weight (`beta` times the warm-up). The TC is
    the minibatch-weighted estimate of `total_correlation` on one draw per
    example, reported as the metric `total_correlation`. It needs a
    Gaussian posterior (the default `DiagonalGaussian`).

    Args:
        tc_weight: float >= 0. The weight of the total correlation,
            default 6.0 (1.0 gives the ELBO).
        dataset_size: int > 0 or None. The number of training examples,
            for the estimate's value (None: the batch size; the gradients
            are the same, see `total_correlation`).

    Example:

    ```python
    import keras
    import keras_vae

    encoder = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8)])
    decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(6)])
    vae = keras_vae.VAE(
        encoder,
        decoder,
        latent_dim=2,
        objective=keras_vae.objectives.BetaTCVAE(
            tc_weight=6.0, dataset_size=60000
        ),
    )
    # Or `objective="beta_tcvae"`, with the defaults.
    ```
    """

    name = "beta_tcvae"
    metrics = ("total_correlation",)

    def __init__(self, tc_weight=6.0, dataset_size=None):
        self.tc_weight = _validation.non_negative_float("tc_weight", tc_weight)
        if dataset_size is not None:
            dataset_size = _validation.positive_int(
                "dataset_size", dataset_size
            )
        self.dataset_size = dataset_size

    def losses(self, terms, kl_weight, seed):
        q = terms["q"]
        if not isinstance(q, distributions.Normal):
            raise ValueError(
                "The beta-TCVAE objective needs a Gaussian posterior (its "
                "total correlation is estimated from the Gaussians' "
                f"densities). Received a posterior giving a "
                f"{type(q).__name__}."
            )
        tc = total_correlation(
            terms["z"][0], q.loc, q.log_var, self.dataset_size
        )
        losses = _elbo_losses(terms, kl_weight)
        losses.append(kl_weight * (self.tc_weight - 1.0) * tc)
        return losses, {"total_correlation": tc}

    def get_config(self):
        return {"tc_weight": self.tc_weight, "dataset_size": self.dataset_size}


def mmd(x, y, kernel="imq", scale=None):
    """The unbiased estimate of the squared MMD between two samples.

    `MMD^2 = E k(x, x') + E k(y, y') - 2 E k(x, y)`, the first two means
    over distinct pairs.

    Args:
        x: tensor `(n, L)`, `n >= 2`.
        y: tensor `(m, L)`, `m >= 2`.
        kernel: str. `"imq"`, the inverse multiquadric `C / (C + |a-b|^2)`
            (Tolstikhin et al., 2018), or `"rbf"`, the Gaussian
            `exp(-|a-b|^2 / C)`.
        scale: float > 0 or None. `C`; None takes `2 L` (the expected
            `|a - b|^2` of two standard normal draws).

    Returns:
        A float32 scalar tensor.

    Example:

    ```python
    import numpy as np
    from keras_vae.objectives import mmd

    rng = np.random.default_rng(0)
    same = mmd(rng.normal(size=(200, 2)), rng.normal(size=(200, 2)))
    apart = mmd(rng.normal(size=(200, 2)), 3 + rng.normal(size=(200, 2)))
    # float(same) ~ 0, float(apart) > 0
    ```
    """
    x = ops.cast(x, "float32")
    y = ops.cast(y, "float32")
    dim = x.shape[-1]
    c = float(2 * dim if scale is None else scale)

    def gram(a, b):
        distance = ops.sum(
            ops.square(ops.expand_dims(a, 1) - ops.expand_dims(b, 0)), axis=-1
        )
        if kernel == "imq":
            return c / (c + distance)
        return ops.exp(-distance / c)

    def mean_off_diagonal(k):
        n = ops.cast(ops.shape(k)[0], "float32")
        return (ops.sum(k) - ops.sum(ops.diagonal(k))) / (n * (n - 1.0))

    return (
        mean_off_diagonal(gram(x, x))
        + mean_off_diagonal(gram(y, y))
        - 2.0 * ops.mean(gram(x, y))
    )


_KERNELS = ("imq", "rbf")


@keras.saving.register_keras_serializable(package="keras_vae")
class MMD(Objective):
    """The ELBO plus an MMD between `q(z)` and the prior (InfoVAE).

    InfoVAE (Zhao et al., 2017) adds to the ELBO a divergence between the
    aggregate posterior `q(z)` and the prior `p(z)`, which keeps `q(z)`
    close to the prior (so that prior samples decode well) without
    pushing each `q(z|x)` to it, and so without the KL's pressure to
    ignore the latent code. Here the divergence is the squared maximum
    mean discrepancy (`mmd`) between one draw per example and as many
    prior draws:

        loss = reconstruction + w * kl + weight * MMD^2

    with `w` the model's KL weight. InfoVAE's `(alpha, lambda)` are
    `beta = 1 - alpha` and `weight = alpha + lambda - 1`; its MMD-VAE
    (`alpha = 1`) is `beta=0`. The MMD is reported as the metric `mmd`.

    Args:
        weight: float >= 0. The weight of the MMD term, default 100.0 (the
            reconstruction term sums over every value of an example, so
            the weight is on that scale).
        kernel: str. `"imq"` (default) or `"rbf"`; see `mmd`.
        scale: float > 0 or None. The kernel's scale; None: `2 L`.

    Example:

    ```python
    import keras
    import keras_vae

    encoder = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8)])
    decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(6)])
    vae = keras_vae.VAE(
        encoder,
        decoder,
        latent_dim=2,
        beta=0.0,  # The MMD-VAE: no KL term.
        objective=keras_vae.objectives.MMD(weight=100.0),
    )
    ```
    """

    name = "mmd"
    metrics = ("mmd",)

    def __init__(self, weight=100.0, kernel="imq", scale=None):
        self.weight = _validation.non_negative_float("weight", weight)
        self.kernel = _validation.one_of("kernel", kernel, _KERNELS)
        if scale is not None:
            scale = _validation.positive_float("scale", scale)
        self.scale = scale

    def losses(self, terms, kl_weight, seed):
        z = terms["z"][0]
        n = z.shape[0] if z.shape[0] is not None else ops.shape(z)[0]
        prior_draws = terms["p"].sample(seed=seed, sample_shape=(n,))
        value = mmd(z, prior_draws, self.kernel, self.scale)
        losses = _elbo_losses(terms, kl_weight)
        losses.append(self.weight * value)
        return losses, {"mmd": value}

    def get_config(self):
        return {
            "weight": self.weight,
            "kernel": self.kernel,
            "scale": self.scale,
        }


_OBJECTIVES = {cls.name: cls for cls in (ELBO, IWAE, BetaTCVAE, MMD)}


def get(identifier):
    """An objective from a name, a config dict or an `Objective`.

    Args:
        identifier: `"elbo"`, `"iwae"`, `"beta_tcvae"`, `"mmd"` (with
            their defaults), a dict from `serialize`, or an `Objective`.

    Returns:
        An `Objective`.

    Raises:
        ValueError: the identifier is none of these.

    Example:

    ```python
    import keras_vae

    objective = keras_vae.objectives.get("beta_tcvae")
    same = keras_vae.objectives.get(keras_vae.objectives.serialize(objective))
    ```
    """
    if isinstance(identifier, Objective):
        return identifier
    if isinstance(identifier, str) and identifier in _OBJECTIVES:
        return _OBJECTIVES[identifier]()
    if isinstance(identifier, dict):
        objective = keras.saving.deserialize_keras_object(identifier)
        if isinstance(objective, Objective):
            return objective
    raise ValueError(
        "`objective` must be one of "
        f"{', '.join(repr(n) for n in _OBJECTIVES)}, a config dict or a "
        f"`keras_vae.objectives.Objective`. Received: objective={identifier!r}"
    )


def serialize(objective):
    """An objective's name if it has its defaults (as older configs wrote
    it), else its config dict.

    Example:

    ```python
    import keras_vae

    keras_vae.objectives.serialize("mmd")  # "mmd"
    keras_vae.objectives.serialize(keras_vae.objectives.MMD(weight=10.0))
    # {"class_name": ..., "config": {"weight": 10.0, ...}, ...}
    ```
    """
    objective = get(objective)
    if objective == type(objective)():
        return objective.name
    return keras.saving.serialize_keras_object(objective)


__all__ = [
    "BetaTCVAE",
    "ELBO",
    "IWAE",
    "MMD",
    "Objective",
    "get",
    "mmd",
    "serialize",
    "total_correlation",
]
