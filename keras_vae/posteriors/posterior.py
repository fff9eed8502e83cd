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
