"""The base class of priors over the latent space."""

import keras

from keras_vae import _validation


class Prior(keras.layers.Layer):
    """A prior `p(z)` over the latent space: a Keras layer.

    A prior holds its weights (a learnable mixture's means, VampPrior's
    pseudo-inputs) and builds a `keras_vae.distributions.Distribution`
    over latent vectors of `latent_dim` values: event shape
    `(latent_dim,)`, no batch axes. `VAE` asks it for that distribution
    (for the KL term, `log p(z)` and `sample`); no prior is special-cased
    anywhere else.

    Subclasses implement `distribution(encode=None)`, and create their
    weights in `build(latent_shape)`, with `latent_shape` =
    `(None, latent_dim)`. A prior that needs the model's encoder (the
    VampPrior) sets `requires_encoder = True` and uses `encode`, a
    function from a batch of data to the Gaussian posterior of each
    example (a `Normal` with batch shape `(n,)`).

    Args:
        latent_dim: int > 0 or None. The latent size; None takes the
            model's (`VAE` calls `setup`).
        **kwargs: base layer arguments (`name`, `dtype`).

    Call arguments:
        z: tensor `(..., latent_dim)`. Latent vectors.
        encode: the encoder function, for priors that need it.

    Returns (from `call`):
        `log p(z)`, float32, shaped like `z` without its last axis.

    Example:

    ```python
    import keras
    from keras import ops
    from keras_vae import distributions, priors

    @keras.saving.register_keras_serializable(package="my_project")
    class WideNormal(priors.Prior):
        # N(0, 4 I): a standard normal twice as wide.

        def distribution(self, encode=None):
            zeros = ops.zeros((self.latent_dim,))
            return distributions.Normal(zeros, 2.0 + zeros)

    prior = WideNormal()
    prior.setup(latent_dim=3)  # `VAE` does this
    z = prior.sample(4, seed=0)  # (4, 3)
    log_pz = prior(z)  # (4,)
    ```
    """

    requires_encoder = False

    def __init__(self, latent_dim=None, **kwargs):
        super().__init__(**kwargs)
        if latent_dim is not None:
            latent_dim = _validation.positive_int("latent_dim", latent_dim)
        self.latent_dim = latent_dim
        self.data_shape = None

    def setup(self, latent_dim, data_shape=None):
        """Fits the prior to a model: checks (or takes) the latent size,
        records the data shape (one example's), and builds the weights.

        Args:
            latent_dim: int. The model's latent size.
            data_shape: tuple or None. The shape of one example of data.

        Raises:
            ValueError: the prior was made for another `latent_dim`.
        """
        if self.latent_dim is not None and self.latent_dim != latent_dim:
            raise ValueError(
                f"The prior {self.name!r} is over {self.latent_dim} latent "
                f"dimensions, but the model has latent_dim={latent_dim}. "
                f"Make the prior with latent_dim={latent_dim} (or None)."
            )
        self.latent_dim = latent_dim
        if data_shape is not None:
            self.data_shape = tuple(data_shape)
        if not self.built:
            self.build((None, latent_dim))

    def build(self, latent_shape):
        if self.latent_dim is None:
            self.latent_dim = int(latent_shape[-1])
        self.built = True

    def distribution(self, encode=None):
        """The prior as a `Distribution` with event shape `(latent_dim,)`.

        Args:
            encode: the model's encoder function (see the class doc),
                used only by priors with `requires_encoder`.

        Returns:
            A `keras_vae.distributions.Distribution`.
        """
        raise NotImplementedError

    def call(self, z, encode=None):
        return self.distribution(encode).log_prob(z)

    def compute_output_shape(self, z_shape):
        return tuple(z_shape[:-1])

    def sample(self, num_samples, seed=None, encode=None):
        """Draws `num_samples` latent vectors, `(num_samples, latent_dim)`.

        Args:
            num_samples: int > 0.
            seed: a `keras.random.SeedGenerator`, an int or None.
            encode: as for `distribution`.

        Returns:
            A float32 tensor.
        """
        num_samples = _validation.positive_int("num_samples", num_samples)
        return self.distribution(encode).sample(
            seed=seed, sample_shape=(num_samples,)
        )

    def get_config(self):
        config = super().get_config()
        config["latent_dim"] = self.latent_dim
        return config
