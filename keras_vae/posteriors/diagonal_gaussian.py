"""The diagonal Gaussian posterior."""

import keras

from keras_vae import distributions
from keras_vae.layers.gaussian_encoder_head import GaussianEncoderHead
from keras_vae.posteriors.posterior import Posterior


@keras.saving.register_keras_serializable(package="keras_vae")
class DiagonalGaussian(Posterior, GaussianEncoderHead):
    """A diagonal Gaussian `q(z|x) = N(mean, diag(exp(log_var)))`.

    `GaussianEncoderHead` (same arguments, same weights) returning a
    `keras_vae.distributions.Normal` instead of the tensors
    `(mean, log_var)`: the default posterior of `VAE`. Its KL divergence
    from a `StandardNormal` prior has a closed form.

    Example:

    ```python
    import numpy as np
    from keras_vae import posteriors

    posterior = posteriors.DiagonalGaussian(latent_dim=2)
    q = posterior(np.random.rand(4, 16).astype("float32"))
    z, log_q = q.sample_and_log_prob(seed=0)  # (4, 2), (4,)
    ```
    """

    def gaussian(self, features):
        return self(features)

    def call(self, features):
        mean, log_var = GaussianEncoderHead.call(self, features)
        return distributions.Normal.from_log_var(mean, log_var)
