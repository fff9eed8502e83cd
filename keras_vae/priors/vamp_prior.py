"""The VampPrior: a mixture of the posteriors of learned pseudo-inputs."""

import numbers

import keras
from keras import ops

from keras_vae import _validation
from keras_vae.distributions.distribution import Distribution
from keras_vae.distributions.mixture import MixtureSameFamily
from keras_vae.priors.prior import Prior


def _data_shape_of(data_shape):
    """`data_shape` as a tuple of positive ints, or a ValueError."""
    try:
        shape = tuple(data_shape)
    except TypeError:
        shape = None
    if not shape or not all(
        isinstance(d, numbers.Integral) and not isinstance(d, bool) and d > 0
        for d in shape
    ):
        raise ValueError(
            "`data_shape` must be the shape of one example of data, a tuple "
            f"of positive integers. Received: data_shape={data_shape!r}"
        )
    return tuple(int(d) for d in shape)


@keras.saving.register_keras_serializable(package="keras_vae")
class VampPrior(Prior):
    """The VampPrior (Tomczak & Welling, 2018): a mixture of posteriors.

    `p(z) = (1/K) sum_k q(z | u_k)`: the uniform mixture of the encoder's
    Gaussian posteriors at `K` learned *pseudo-inputs* `u_k`, each shaped
    like one example of data. The prior follows the encoder as it trains,
    which tightens the bound compared with `N(0, I)`.

    The pseudo-inputs are weights of this layer, `(K,) + data_shape`. Their
    shape comes from `data_shape`, or from the model (`VAE` calls
    `setup(latent_dim, data_shape)` with its encoder's input shape). They
    go through `pseudo_input_activation` before the encoder: None (the
    default) leaves them free, for data of any range; `"sigmoid"` keeps them
    in `(0, 1)`, like images scaled to `[0, 1]` (the paper clips them to
    `[0, 1]` instead, whose gradient vanishes outside).

    `distribution(encode)` needs the encoder: `encode` maps a batch of data
    to a `Normal` with batch shape `(K,)` (`VAE` passes it). The KL
    divergence has no closed form: `VAE` estimates it by Monte Carlo. Each
    evaluation runs the encoder on the `K` pseudo-inputs.

    Args:
        num_components: int > 0. The number of pseudo-inputs `K`, default
            500 (the paper's for MNIST).
        data_shape: tuple of ints or None. The shape of one example of
            data; None takes the model's.
        latent_dim: int > 0 or None (the model's).
        pseudo_input_initializer: initializer of the pseudo-inputs, default
            `"random_normal"` (mean 0, standard deviation 0.05).
        pseudo_input_activation: None or a Keras activation (`"sigmoid"`),
            applied to the pseudo-inputs, see above.
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`).

    Example:

    ```python
    from keras import ops
    from keras_vae import distributions
    from keras_vae import priors

    def encode(x):  # A stand-in for the model's encoder.
        return distributions.Normal(ops.mean(x, axis=-1, keepdims=True),
                                    ops.ones((x.shape[0], 1)))

    prior = priors.VampPrior(num_components=4, data_shape=(3,))
    prior.setup(latent_dim=1)
    log_pz = prior(ops.zeros((5, 1)), encode=encode)  # (5,)
    ```
    """

    requires_encoder = True

    def __init__(
        self,
        num_components=500,
        data_shape=None,
        latent_dim=None,
        pseudo_input_initializer="random_normal",
        pseudo_input_activation=None,
        **kwargs,
    ):
        super().__init__(latent_dim=latent_dim, **kwargs)
        self.num_components = _validation.positive_int(
            "num_components", num_components
        )
        if data_shape is not None:
            self.data_shape = _data_shape_of(data_shape)
        self.pseudo_input_initializer = keras.initializers.get(
            pseudo_input_initializer
        )
        self.pseudo_input_activation = (
            None
            if pseudo_input_activation is None
            else keras.activations.get(pseudo_input_activation)
        )

    def setup(self, latent_dim, data_shape=None):
        if data_shape is not None:
            data_shape = _data_shape_of(data_shape)
            if self.data_shape is not None and self.data_shape != data_shape:
                raise ValueError(
                    f"The prior {self.name!r} has pseudo-inputs of shape "
                    f"{self.data_shape}, but the model's data has shape "
                    f"{data_shape}. Make the prior with "
                    f"data_shape={data_shape} (or None)."
                )
        super().setup(latent_dim, data_shape)

    def build(self, latent_shape):
        if self.data_shape is None:
            raise ValueError(
                f"The VampPrior {self.name!r} needs the shape of one example "
                "of data for its pseudo-inputs: make it with "
                "`data_shape=...`, or use it in a model whose encoder has a "
                "known input shape (`VAE` passes it to `setup`)."
            )
        super().build(latent_shape)
        self.pseudo_inputs = self.add_weight(
            name="pseudo_inputs",
            shape=(self.num_components,) + tuple(self.data_shape),
            initializer=self.pseudo_input_initializer,
            autocast=False,
        )

    def pseudo_input_values(self):
        """The pseudo-inputs as the encoder sees them (activation applied),
        `(num_components,) + data_shape`, float32."""
        u = ops.convert_to_tensor(self.pseudo_inputs)
        if self.pseudo_input_activation is not None:
            u = self.pseudo_input_activation(u)
        return u

    def distribution(self, encode=None):
        if encode is None:
            raise ValueError(
                f"The VampPrior {self.name!r} mixes the encoder's posteriors "
                "at its pseudo-inputs, so `distribution` (and `call`, "
                "`sample`) need `encode`: a function from a batch of data to "
                "a `keras_vae.distributions.Normal` with batch shape "
                "`(batch,)` (`VAE` passes it)."
            )
        components = encode(self.pseudo_input_values())
        if not isinstance(components, Distribution):
            raise ValueError(
                "`encode` must return a keras_vae Distribution (a Normal "
                f"with batch shape `(batch,)`). Received: {components!r}"
            )
        expected = (self.num_components, self.latent_dim)
        shape = tuple(components.batch_event_shape)
        if len(shape) != 2 or any(
            d is not None and d != e for d, e in zip(shape, expected)
        ):
            raise ValueError(
                "`encode` must map the pseudo-inputs to a distribution "
                f"shaped {expected} (num_components, latent_dim). "
                f"Received: {components!r}, of shape {shape}."
            )
        logits = ops.zeros((self.num_components,), "float32")
        return MixtureSameFamily(logits, components)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_components": self.num_components,
                "data_shape": (
                    None if self.data_shape is None else list(self.data_shape)
                ),
                "pseudo_input_initializer": keras.initializers.serialize(
                    self.pseudo_input_initializer
                ),
                "pseudo_input_activation": (
                    None
                    if self.pseudo_input_activation is None
                    else keras.activations.serialize(
                        self.pseudo_input_activation
                    )
                ),
            }
        )
        return config
