"""KL divergences: closed forms by registry, Monte Carlo otherwise."""

from keras import ops

from keras_vae.distributions.bernoulli import Bernoulli
from keras_vae.distributions.categorical import Categorical
from keras_vae.distributions.distribution import Distribution
from keras_vae.distributions.distribution import sum_events
from keras_vae.distributions.normal import Normal
from keras_vae.distributions.poisson import Poisson

_REGISTRY = {}


def register_kl(type_q, type_p):
    """Registers a closed-form `KL(q || p)` for a pair of types.

    The decorated function takes `(q, p)` and returns the divergence summed
    over the event axes, one value per element of the batch. A lookup
    walks both classes' method resolution orders, so a closed form
    registered for base classes serves their subclasses.

    Args:
        type_q: the class of `q`, a `Distribution` subclass.
        type_p: the class of `p`.

    Returns:
        The decorator.

    Example:

    ```python
    from keras_vae import distributions

    class Spike(distributions.Normal):
        pass

    @distributions.register_kl(Spike, Spike)
    def _kl_spike(q, p):
        return distributions.kl_divergence(
            distributions.Normal.from_log_var(q.loc, q.log_var),
            distributions.Normal.from_log_var(p.loc, p.log_var),
        )
    ```
    """
    for name, value in (("type_q", type_q), ("type_p", type_p)):
        if not (isinstance(value, type) and issubclass(value, Distribution)):
            raise ValueError(
                f"`{name}` must be a keras_vae Distribution class. "
                f"Received: {name}={value!r}"
            )

    def decorator(fn):
        _REGISTRY[(type_q, type_p)] = fn
        return fn

    return decorator


def _closed_form(q, p):
    for type_q in type(q).__mro__:
        for type_p in type(p).__mro__:
            fn = _REGISTRY.get((type_q, type_p))
            if fn is not None:
                return fn
    return None


def has_closed_form(q, p):
    """Whether `kl_divergence(q, p)` is exact (a registered closed form).

    Args:
        q: a `Distribution`.
        p: a `Distribution`.

    Returns:
        bool.

    Example:

    ```python
    import numpy as np
    from keras_vae import distributions

    q = distributions.Normal(np.zeros((3, 2)), np.ones((3, 2)))
    p = distributions.Normal(np.zeros(2), np.ones(2))
    distributions.has_closed_form(q, p)  # True: Normal against Normal
    ```
    """
    return _closed_form(q, p) is not None


def kl_divergence(q, p, seed=None, num_samples=1):
    """`KL(q || p)`, summed over the event axes, one value per batch element.

    The closed form when one is registered for the pair (`register_kl`;
    built in: `Normal`, `Bernoulli`, `Categorical` and `Poisson`, each
    against its own type); otherwise the Monte Carlo
    estimate `mean_i [log q(z_i) - log p(z_i)]` with `num_samples` draws
    `z_i ~ q`, unbiased, reparameterized when `q` is (so it trains), and
    noisy: `has_closed_form(q, p)` says which one you get.

    Args:
        q: a `Distribution`.
        p: a `Distribution` over the same event shape.
        seed: a `keras.random.SeedGenerator`, an int or None: the noise of
            the Monte Carlo estimate (unused by a closed form).
        num_samples: int > 0. Draws of the Monte Carlo estimate.

    Returns:
        A float32 tensor of `q`'s batch shape.

    Example:

    ```python
    import numpy as np
    from keras_vae import distributions

    q = distributions.Normal(np.ones((3, 2)), np.ones((3, 2)))
    p = distributions.Normal(np.zeros(2), np.ones(2))
    distributions.kl_divergence(q, p)  # [1.0, 1.0, 1.0]: 0.5 * |mu|^2
    ```
    """
    fn = _closed_form(q, p)
    if fn is not None:
        return fn(q, p)
    z, log_q = q.sample_and_log_prob(seed=seed, sample_shape=(num_samples,))
    return ops.mean(log_q - p.log_prob(z), axis=0)


def _check_same_event_ndims(q, p):
    if q.event_ndims != p.event_ndims:
        raise ValueError(
            f"KL between {type(q).__name__} and {type(p).__name__} of "
            f"different event ranks: {q.event_ndims} and {p.event_ndims}."
        )


@register_kl(Normal, Normal)
def _kl_normal_normal(q, p):
    _check_same_event_ndims(q, p)
    kl = 0.5 * (
        p.log_var
        - q.log_var
        + (ops.exp(q.log_var) + ops.square(q.loc - p.loc))
        * ops.exp(-p.log_var)
        - 1.0
    )
    return sum_events(kl, q.event_ndims)


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(q, p):
    # sum_x q(x) log(q(x) / p(x)) with log sigmoid(l) = l - softplus(l):
    # sigmoid(l_q) (l_q - l_p) - softplus(l_q) + softplus(l_p), stable.
    _check_same_event_ndims(q, p)
    kl = (
        ops.sigmoid(q.logits) * (q.logits - p.logits)
        - ops.softplus(q.logits)
        + ops.softplus(p.logits)
    )
    return sum_events(kl, q.event_ndims)


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(q, p):
    _check_same_event_ndims(q, p)
    log_q = q.log_probs()
    kl = ops.sum(ops.exp(log_q) * (log_q - p.log_probs()), axis=-1)
    return sum_events(kl, q.event_ndims)


@register_kl(Poisson, Poisson)
def _kl_poisson_poisson(q, p):
    _check_same_event_ndims(q, p)
    rate_q = q.rate()
    kl = rate_q * (q.log_rate - p.log_rate) - rate_q + p.rate()
    return sum_events(kl, q.event_ndims)
