"""A learnable mixture of diagonal Gaussians as the prior."""

import keras

from keras_vae import _validation
from keras_vae.distributions.mixture import MixtureSameFamily
from keras_vae.distributions.normal import Normal
from keras_vae.priors.prior import Prior


@keras.saving.register_keras_serializable(package="keras_vae")
class MixtureOfGaussians(Prior):
    """A learnable mixture of `K` diagonal Gaussians as the prior.

    `p(z) = sum_k softmax(logits)_k N(z; mu_k, diag(exp(log_var_k)))`,
    with the means `(K, latent_dim)`, log-variances `(K, latent_dim)` and
    mixture logits `(K,)` trained with the rest of the model. The means
    start spread out (`means_initializer`, by default a standard normal
    draw), the variances at 1 and the weights uniform. There is no
    closed-form KL divergence from a Gaussian posterior: `VAE` estimates it
    by Monte Carlo.

    Args:
        num_components: int > 0. The number of Gaussians `K`, default 10.
        latent_dim: int > 0 or None (the model's).
        means_initializer: initializer of the means; None (default) for
            `keras.initializers.RandomNormal(stddev=1.0)`.
        log_vars_initializer: initializer of the log-variances, default
            `"zeros"`.
        logits_initializer: initializer of the mixture logits, default
            `"zeros"` (equal weights).
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`).

    Example:

    ```python
    from keras_vae import priors

    prior = priors.MixtureOfGaussians(num_components=3, latent_dim=2)
    prior.build((None, 2))
    z = prior.sample(5, seed=0)  # (5, 2)
    log_pz = prior(z)  # (5,)
    ```
    """

    def __init__(
        self,
        num_components=10,
        latent_dim=None,
        means_initializer=None,
        log_vars_initializer="zeros",
        logits_initializer="zeros",
        **kwargs,
    ):
        super().__init__(latent_dim=latent_dim, **kwargs)
        self.num_components = _validation.positive_int(
            "num_components", num_components
        )
        if means_initializer is None:
            means_initializer = keras.initializers.RandomNormal(stddev=1.0)
        self.means_initializer = keras.initializers.get(means_initializer)
        self.log_vars_initializer = keras.initializers.get(log_vars_initializer)
        self.logits_initializer = keras.initializers.get(logits_initializer)

    def build(self, latent_shape):
        super().build(latent_shape)
        shape = (self.num_components, self.latent_dim)
        # Read in float32 whatever the policy: distribution math is float32.
        self.means = self.add_weight(
            name="means",
            shape=shape,
            initializer=self.means_initializer,
            autocast=False,
        )
        self.log_vars = self.add_weight(
            name="log_vars",
            shape=shape,
            initializer=self.log_vars_initializer,
            autocast=False,
        )
        self.logits = self.add_weight(
            name="logits",
            shape=(self.num_components,),
            initializer=self.logits_initializer,
            autocast=False,
        )

    def distribution(self, encode=None):
        components = Normal.from_log_var(self.means, self.log_vars)
        return MixtureSameFamily(self.logits, components)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_components": self.num_components,
                "means_initializer": keras.initializers.serialize(
                    self.means_initializer
                ),
                "log_vars_initializer": keras.initializers.serialize(
                    self.log_vars_initializer
                ),
                "logits_initializer": keras.initializers.serialize(
                    self.logits_initializer
                ),
            }
        )
        return config
