"""The base class of posteriors (encoder heads returning distributions)."""

import keras


class Posterior(keras.layers.Layer):
    """An approximate posterior `q(z|x)`: the head on the encoder.

    A posterior layer maps the encoder's features to a
    `keras_vae.distributions.Distribution` over latent vectors of
    `latent_dim` values (batch shape `(batch,)`, event shape
    `(latent_dim,)`) which supports `sample_and_log_prob` (a flow draws
    and scores in one pass). `gaussian(features)` returns its Gaussian
    part, a `Normal`: what `VAE.encode` reports and what VampPrior mixes.
    `VAE` goes through these two methods only.

    Subclasses set `latent_dim` and implement `call(features)` and
    `gaussian(features)`.

    Example:

    ```python
    import keras
    from keras_vae import distributions, posteriors

    @keras.saving.register_keras_serializable(package="my_project")
    class FixedVariance(posteriors.Posterior):
        # A Gaussian posterior whose variance is fixed at 0.01.

        def __init__(self, latent_dim, **kwargs):
            super().__init__(**kwargs)
            self.latent_dim = latent_dim
            self.dense = keras.layers.Dense(latent_dim)

        def gaussian(self, features):
            mean = self.dense(features)
            return distributions.Normal(mean, 0.1 + 0.0 * mean)

        def call(self, features):
            return self.gaussian(features)

        def get_config(self):
            return {**super().get_config(), "latent_dim": self.latent_dim}

    q = FixedVariance(2)(keras.ops.ones((4, 8)))
    z, log_q = q.sample_and_log_prob(seed=0)  # (4, 2), (4,)
    ```
    """

    def gaussian(self, features):
        """The Gaussian part of `q(z|x)`, a `distributions.Normal`."""
        raise NotImplementedError

    def compute_output_spec(self, features):
        raise NotImplementedError(
            "A posterior returns a distribution, not a tensor: use it "
            "inside a model's `call`, or `keras_vae.layers."
            "GaussianEncoderHead` in a Functional model."
        )
