"""The inverse autoregressive flow posterior (Kingma et al., 2016)."""

import math

import keras
from keras import ops

from keras_vae import _validation
from keras_vae import ops as vae_ops
from keras_vae.distributions.distribution import float32
from keras_vae.distributions.normal import Normal
from keras_vae.distributions.transformed import Transformed
from keras_vae.layers.gaussian_encoder_head import GaussianEncoderHead
from keras_vae.posteriors.made import MADE
from keras_vae.posteriors.made import fresh_initializer
from keras_vae.posteriors.made import hidden_units_of
from keras_vae.posteriors.posterior import Posterior


class _AutoregressiveFlow:
    """The flow of one call of an `InverseAutoregressiveFlow` layer: its
    steps, with the context computed from that call's features."""

    def __init__(self, layer, context):
        self.layer = layer
        self.context = context

    def forward_and_log_det(self, z):
        return self.layer._forward(z, self.context)


@keras.saving.register_keras_serializable(package="keras_vae")
class InverseAutoregressiveFlow(Posterior):
    """An inverse autoregressive flow posterior (IAF, Kingma et al., 2016).

    A diagonal Gaussian from the features (a `GaussianEncoderHead`, same
    arguments) made more flexible by `num_steps` autoregressive steps:

    ```
    z_0 ~ N(mean, diag(exp(log_var)))
    m_t, s_t = MADE_t(z_{t-1}, h)
    sigma_t = sigmoid(s_t + forget_bias)
    z_t = sigma_t * z_{t-1} + (1 - sigma_t) * m_t
    log q(z_T|x) = log N(z_0) - sum_t sum_i log sigma_t,i
    ```

    `MADE_t` is an autoregressive network (`keras_vae.posteriors.MADE`):
    `m_t,i` and `s_t,i` depend only on the values before `i`, so each
    step's Jacobian is triangular with diagonal `sigma_t`. The ordering is
    reversed from one step to the next, so that every value gets to
    depend on every other. The context `h` is a linear projection of the
    features to `context_units` values, fed to each MADE's first layer
    (`context_units=0` turns it off). `forget_bias` > 0 starts each step
    close to keeping `z_{t-1}`, for a stable start of training.

    `call` returns a `keras_vae.distributions.Transformed`: draw and score
    with `sample_and_log_prob` (no inverse is needed; `log_prob` of other
    values is not available, nor `mean`). Its KL divergence from a prior
    is estimated by Monte Carlo. `gaussian(features)` returns `z_0`'s
    distribution, a `Normal`: what `VAE.encode` reports. The networks run
    in the layer's compute dtype (`"mixed_bfloat16"` works); the flow's
    values and log-densities are float32.

    Args:
        latent_dim: int > 0. The latent size.
        num_steps: int > 0. IAF steps, default 2.
        hidden_units: tuple of ints > 0. Each MADE's hidden layers,
            default `(64, 64)`.
        context_units: int >= 0. The size of the context `h`, default 32;
            0 for none.
        forget_bias: float. Added to `s_t` before the sigmoid, default 1.0
            (`sigma_t` starts near `sigmoid(1) = 0.73`).
        activation: the MADEs' hidden activation, default `"elu"`.
        parameterization: str. The Gaussian head's variance
            parameterization, `"log_var"` (default) or `"softplus"`.
        min_log_var: float. The head's lower log-variance clip, default
            -30.
        max_log_var: float. The head's upper log-variance clip, default 20.
        kernel_initializer: initializer of every kernel, default
            `"glorot_uniform"`.
        **kwargs: base layer arguments (`name`, `dtype`).

    Call arguments:
        features: tensor `(batch, ...)`. The encoder's features, every
            non-batch dimension known.

    Returns (from `call`):
        A `Transformed` distribution, batch shape `(batch,)`, event shape
        `(latent_dim,)`.

    Example:

    ```python
    import numpy as np
    from keras_vae import posteriors

    posterior = posteriors.InverseAutoregressiveFlow(
        latent_dim=2, hidden_units=(8,), context_units=4
    )
    q = posterior(np.random.rand(4, 16).astype("float32"))
    z, log_q = q.sample_and_log_prob(seed=0, sample_shape=3)  # (3, 4, 2)
    mean = posterior.gaussian(np.zeros((1, 16), "float32")).mean()
    ```
    """

    def __init__(
        self,
        latent_dim,
        num_steps=2,
        hidden_units=(64, 64),
        context_units=32,
        forget_bias=1.0,
        activation="elu",
        parameterization="log_var",
        min_log_var=vae_ops.LOG_VAR_MIN,
        max_log_var=vae_ops.LOG_VAR_MAX,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        # === Config ===
        self.latent_dim = _validation.positive_int("latent_dim", latent_dim)
        self.num_steps = _validation.positive_int("num_steps", num_steps)
        self.hidden_units = hidden_units_of(hidden_units)
        self.context_units = _validation.non_negative_int(
            "context_units", context_units
        )
        if isinstance(forget_bias, bool) or not isinstance(
            forget_bias, (int, float)
        ):
            raise ValueError(
                "`forget_bias` must be a number. Received: "
                f"forget_bias={forget_bias!r}"
            )
        self.forget_bias = float(forget_bias)
        self.activation = keras.activations.get(activation)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

        # === Layers ===
        self.head = GaussianEncoderHead(
            latent_dim,
            parameterization=parameterization,
            min_log_var=min_log_var,
            max_log_var=max_log_var,
            kernel_initializer=fresh_initializer(self.kernel_initializer),
            dtype=self.dtype_policy,
            name="gaussian",
        )
        self.context_projection = None
        if self.context_units:
            self.context_projection = keras.layers.Dense(
                self.context_units,
                kernel_initializer=fresh_initializer(self.kernel_initializer),
                dtype=self.dtype_policy,
                name="context",
            )
        self.mades = [
            MADE(
                self.hidden_units,
                reverse=step % 2 == 1,
                activation=self.activation,
                kernel_initializer=self.kernel_initializer,
                dtype=self.dtype_policy,
                name=f"made_{step}",
            )
            for step in range(self.num_steps)
        ]

    @property
    def parameterization(self):
        return self.head.parameterization

    def build(self, features_shape):
        feature_shape = tuple(features_shape[1:])
        if not feature_shape or any(d is None for d in feature_shape):
            raise ValueError(
                "`InverseAutoregressiveFlow` needs features with at least "
                "one non-batch dimension, all of them known. Received: "
                f"features_shape={tuple(features_shape)}"
            )
        self._feature_dim = math.prod(feature_shape)
        self.head.build(features_shape)
        context_shape = None
        if self.context_projection is not None:
            self.context_projection.build((None, self._feature_dim))
            context_shape = (None, self.context_units)
        for made in self.mades:
            made.build((None, self.latent_dim), context_shape)

    def gaussian(self, features):
        if not self.built:
            self.build(tuple(features.shape))
        mean, log_var = self.head(features)
        return Normal.from_log_var(mean, log_var)

    def call(self, features):
        base = self.gaussian(features)
        context = None
        if self.context_projection is not None:
            flat = ops.reshape(features, (-1, self._feature_dim))
            context = self.context_projection(flat)
        return Transformed(base, _AutoregressiveFlow(self, context))

    def _forward(self, z, context):
        """The flow: `z_0` (..., batch, L) to `(z_T, log |det dz_T/dz_0|)`,
        float32."""
        z = float32(z)
        log_det = 0.0
        for made in self.mades:
            if context is None:
                m, s = made(z)
            else:
                m, s = made(z, context)
            s = float32(s) + self.forget_bias
            sigma = ops.sigmoid(s)
            z = sigma * z + (1.0 - sigma) * float32(m)
            log_det = log_det + ops.sum(ops.log_sigmoid(s), axis=-1)
        return z, log_det

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "latent_dim": self.latent_dim,
                "num_steps": self.num_steps,
                "hidden_units": list(self.hidden_units),
                "context_units": self.context_units,
                "forget_bias": self.forget_bias,
                "activation": keras.activations.serialize(self.activation),
                "parameterization": self.head.parameterization,
                "min_log_var": self.head.min_log_var,
                "max_log_var": self.head.max_log_var,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
            }
        )
        return config
