"""The standard normal prior N(0, I)."""

import keras

from keras_vae.distributions.unit_normal import UnitNormal
from keras_vae.priors.prior import Prior


@keras.saving.register_keras_serializable(package="keras_vae")
class StandardNormal(Prior):
    """The standard normal prior `N(0, I)`, the default of `VAE`.

    Its KL divergence from a Gaussian posterior has a closed form, which
    `VAE` uses.

    Args:
        latent_dim: int > 0 or None (the model's).
        **kwargs: base layer arguments.

    Example:

    ```python
    from keras_vae import priors

    prior = priors.StandardNormal(latent_dim=2)
    prior.build((None, 2))
    z = prior.sample(5, seed=0)  # (5, 2)
    log_pz = prior(z)  # (5,)
    ```
    """

    def distribution(self, encode=None):
        return UnitNormal((self.latent_dim,))
