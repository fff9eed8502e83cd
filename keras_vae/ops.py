"""Backend-neutral math for VAEs: log-densities, KL divergences, log-mean-exp.

Every function here uses `keras.ops` only, so it runs on TensorFlow, JAX and
PyTorch alike, and computes in float32 whatever the input dtype (so that a
model under the `"mixed_bfloat16"` policy still gets exact losses).

Conventions:

- Log-densities are summed over the *event* axes (by default every axis
  but the first, the batch axis) and returned per example, in nats.
- Log-variances are clipped to `[LOG_VAR_MIN, LOG_VAR_MAX]` before `exp()`,
  so that variances stay finite and positive in float32: a log-variance of
  `+1e4` or `-1e4` gives a large but finite loss, never `inf` or `NaN`.
  Outside that range the gradient with respect to the log-variance is zero.
"""

import math

import keras
from keras import ops

LOG_VAR_MIN = -30.0
"""Smallest log-variance used in `exp()`: a standard deviation of 3.1e-7."""

LOG_VAR_MAX = 20.0
"""Largest log-variance used in `exp()`: a standard deviation of 2.2e4."""

_LOG_2PI = math.log(2.0 * math.pi)


def _float32(x):
    return ops.cast(x, "float32")


def _event_axes(x, event_ndims):
    """Returns the trailing `event_ndims` axes of `x` (all but 0 if None)."""
    ndim = len(x.shape)
    if event_ndims is None:
        event_ndims = ndim - 1
    if not 0 <= event_ndims <= ndim:
        raise ValueError(
            "`event_ndims` must be between 0 and the rank of the input "
            f"({ndim}). Received: event_ndims={event_ndims}"
        )
    return tuple(range(ndim - event_ndims, ndim))


def _sum_events(x, event_ndims):
    axes = _event_axes(x, event_ndims)
    if not axes:
        return x
    return ops.sum(x, axis=axes)


def clip_log_var(log_var, min_log_var=LOG_VAR_MIN, max_log_var=LOG_VAR_MAX):
    """Clips a log-variance to the range in which `exp()` stays finite.

    Args:
        log_var: tensor. Log-variances.
        min_log_var: float. Lower bound, defaults to `LOG_VAR_MIN` (-30).
        max_log_var: float. Upper bound, defaults to `LOG_VAR_MAX` (20).

    Returns:
        A float32 tensor of the same shape as `log_var`.

    Example:

    ```python
    import numpy as np
    from keras_vae import ops

    clipped = ops.clip_log_var(np.array([-1e4, 0.0, 1e4]))
    # [-30., 0., 20.]
    ```
    """
    return ops.clip(_float32(log_var), min_log_var, max_log_var)


def kl_divergence_standard_normal(mean, log_var, event_ndims=None):
    """KL divergence from a diagonal Gaussian to the unit Gaussian N(0, I).

    KL(N(mean, exp(log_var)) || N(0, I)) in closed form,
    `0.5 * sum(exp(log_var) + mean**2 - 1 - log_var)`, summed over the
    event axes. The log-variance is clipped with `clip_log_var` first.

    Args:
        mean: tensor of shape `(batch, ...)`. Means.
        log_var: tensor of the same shape. Log-variances.
        event_ndims: int or None. How many trailing axes to sum over;
            `None` (default) sums over every axis but the first.

    Returns:
        A float32 tensor of shape `(batch,)` (the non-event axes) of KL
        divergences in nats, each >= 0.

    Example:

    ```python
    import numpy as np
    from keras_vae import ops

    kl = ops.kl_divergence_standard_normal(
        np.zeros((2, 8)), np.zeros((2, 8))
    )
    # [0., 0.]: N(0, I) is at distance zero from itself.
    ```
    """
    mean = _float32(mean)
    log_var = clip_log_var(log_var)
    kl = 0.5 * (ops.exp(log_var) + ops.square(mean) - 1.0 - log_var)
    return _sum_events(kl, event_ndims)


def standard_normal_log_prob(z, event_ndims=1):
    """Log-density of `z` under the unit Gaussian N(0, I).

    Args:
        z: tensor of shape `(..., latent_dim)`.
        event_ndims: int. How many trailing axes form one event, default 1.

    Returns:
        A float32 tensor with the event axes summed out.

    Example:

    ```python
    import numpy as np
    from keras_vae import ops

    ops.standard_normal_log_prob(np.zeros((1, 2)))  # [-log(2 pi)]
    ```
    """
    z = _float32(z)
    return _sum_events(-0.5 * (ops.square(z) + _LOG_2PI), event_ndims)


def normal_log_prob(x, mean, log_var, event_ndims=1):
    """Log-density of `x` under a diagonal Gaussian N(mean, exp(log_var)).

    Args:
        x: tensor. The points.
        mean: tensor broadcastable to `x`. Means.
        log_var: tensor broadcastable to `x`. Log-variances, clipped with
            `clip_log_var` before use.
        event_ndims: int or None. How many trailing axes form one event,
            default 1; `None` sums over every axis but the first.

    Returns:
        A float32 tensor with the event axes summed out.

    Example:

    ```python
    import numpy as np
    from keras_vae import ops

    ops.normal_log_prob(np.ones((1, 3)), np.ones((1, 3)), np.zeros((1, 3)))
    # [-1.5 * log(2 pi)]
    ```
    """
    x = _float32(x)
    mean = _float32(mean)
    log_var = clip_log_var(log_var)
    log_prob = -0.5 * (
        ops.square(x - mean) * ops.exp(-log_var) + log_var + _LOG_2PI
    )
    return _sum_events(log_prob, event_ndims)


def bernoulli_log_prob(x, logits, event_ndims=None):
    """Log-probability of `x` under independent Bernoullis given by logits.

    Computed stably from the logits as `x * logits - softplus(logits)`,
    which never takes the log of 0. For `x` in `{0, 1}` this is the exact
    log-likelihood; for grey levels in `[0, 1]` it is the (unnormalized)
    negative binary cross-entropy that many VAEs train with.

    Args:
        x: tensor of shape `(batch, ...)`, values in `[0, 1]`.
        logits: tensor broadcastable to `x`. Logits of the probability
            that each value is 1.
        event_ndims: int or None. How many trailing axes to sum over;
            `None` (default) sums over every axis but the first.

    Returns:
        A float32 tensor with the event axes summed out, in nats.

    Example:

    ```python
    import numpy as np
    from keras_vae import ops

    ops.bernoulli_log_prob(np.ones((1, 4)), np.zeros((1, 4)))
    # [4 * log(0.5)]
    ```
    """
    x = _float32(x)
    logits = _float32(logits)
    log_prob = x * logits - softplus(logits)
    return _sum_events(log_prob, event_ndims)


def softplus(x):
    """`log(1 + exp(x))`, stably, in the form each backend runs fastest.

    On JAX, `(x + |x|) / 2 + log1p(exp(-|x|))`: XLA on the CPU runs it at
    about half the cost of `jax.nn.softplus` (a `logaddexp` with its
    NaN and infinity handling), which a Bernoulli likelihood evaluates on
    every pixel of every importance sample. It equals `softplus` to
    float32 rounding and has its gradient, the sigmoid (1/2 at 0). Other
    backends call their own fused `softplus`.

    Args:
        x: a tensor.

    Returns:
        A tensor of the shape and dtype of `x`.

    Example:

    ```python
    from keras_vae import ops

    ops.softplus([0.0, 100.0])  # [log(2), 100]
    ```
    """
    x = ops.convert_to_tensor(x)
    if keras.backend.backend() != "jax":
        return ops.softplus(x)
    magnitude = ops.abs(x)
    return 0.5 * (x + magnitude) + ops.log1p(ops.exp(-magnitude))


def log_mean_exp(x, axis=-1):
    """`log(mean(exp(x), axis))` computed stably (no overflow or underflow).

    Args:
        x: tensor.
        axis: int. The axis to average over, default -1.

    Returns:
        A float32 tensor with `axis` reduced.

    Example:

    ```python
    import numpy as np
    from keras_vae import ops

    ops.log_mean_exp(np.array([[-1000.0, -1000.0]]))  # [-1000.]
    ```
    """
    x = _float32(x)
    n = x.shape[axis]
    return ops.logsumexp(x, axis=axis) - math.log(n)


def linear_warmup(step, warmup_steps, weight=1.0):
    """A weight that grows linearly from 0 to `weight` over `warmup_steps`.

    Used for KL warm-up (also called KL annealing): the KL term's weight is
    `weight * min(1, step / warmup_steps)`, so training starts as a plain
    autoencoder and the regularizer reaches full strength after
    `warmup_steps` steps.

    Args:
        step: int tensor or int. The current step, counting from 0.
        warmup_steps: int. Steps to reach `weight`; 0 means no warm-up.
        weight: float. The final weight.

    Returns:
        A float32 scalar tensor.

    Example:

    ```python
    from keras_vae import ops

    ops.linear_warmup(50, warmup_steps=100, weight=2.0)  # 1.0
    ```
    """
    if warmup_steps <= 0:
        return ops.convert_to_tensor(weight, "float32")
    fraction = ops.minimum(_float32(step) / float(warmup_steps), 1.0)
    return weight * fraction


def _tf_replica():
    """`(index, count)` of the TensorFlow replica this code runs in, inside
    a step of a `tf.distribute` strategy with several replicas; None
    elsewhere (other backends, one replica, outside a step)."""
    if keras.backend.backend() != "tensorflow":
        return None
    import tensorflow as tf

    if not tf.distribute.in_cross_replica_context():
        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            return (
                context.replica_id_in_sync_group,
                context.num_replicas_in_sync,
            )
    return None


def normal_noise(shape, seed, batch_axis=0):
    """Standard normal noise for the reparametrization trick,
    `keras.random.normal(shape, seed=seed)`, that stays right under
    `tf.distribute`.

    In a step of a TensorFlow strategy with several replicas
    (`MirroredStrategy`, `MultiWorkerMirroredStrategy`), every replica
    holds the same seed, so `keras.random.normal` would give each replica
    the *same* noise: the global batch would reuse one draw once per
    replica. Here each replica draws the noise of the whole global batch
    and keeps its own rows of it (along `batch_axis`): the replicas draw
    different noise, and together exactly the noise one device draws for
    the whole batch. Elsewhere (other backends, one device) it is
    `keras.random.normal`.

    Args:
        shape: tuple. The shape of the noise.
        seed: a `keras.random.SeedGenerator` (or an int, as for
            `keras.random.normal`).
        batch_axis: int. The axis of `shape` that indexes examples.

    Returns:
        A float32 tensor of `shape`.

    Example:

    ```python
    import keras
    from keras_vae import ops

    seed = keras.random.SeedGenerator(0)
    eps = ops.normal_noise((4, 2), seed)  # (4, 2), standard normal
    ```
    """
    replica = _tf_replica()
    if replica is None:
        return keras.random.normal(shape, seed=seed)
    import tensorflow as tf

    index, count = replica
    static = [d if isinstance(d, int) else None for d in shape]
    whole = [tf.cast(d, "int32") for d in shape]
    rows = whole[batch_axis]
    whole[batch_axis] = rows * count
    noise = keras.random.normal(tf.stack(whole), seed=seed)
    start = tf.cast(index, "int32") * rows
    noise = tf.gather(noise, tf.range(start, start + rows), axis=batch_axis)
    return tf.ensure_shape(noise, static)
