import math

import keras
import numpy as np
from keras import ops

from keras_vae import _validation
from keras_vae import likelihoods
from keras_vae._seed_state import SeedStateMixin
from keras_vae.layers.reparam_sampling import _seed_generator
from keras_vae.layers.vector_quantizer import VectorQuantizer
from keras_vae.models.vae import VAE
from keras_vae.models.vae import batched
from keras_vae.models.vae import check_data_shape

_TARGETS_ERROR = (
    "`VQVAE` trains on the data alone (`x`): the model reconstructs its "
    "own inputs. It received targets `y` (as an argument, or as the second "
    "element of each batch of a data set: map `(x, y)` batches to `x`) "
    "and `compile()` was given no `loss` to use them with. Drop them, "
    "e.g. `vqvae.fit(x)`."
)
_SAMPLE_WEIGHT_ERROR = (
    "`VQVAE` does not support `sample_weight`: its loss is averaged over "
    "the batch. Received: sample_weight={}"
)


@keras.saving.register_keras_serializable(package="keras_vae")
class VQVAE(SeedStateMixin, keras.Model):
    """A vector-quantized autoencoder (VQ-VAE) from any encoder and decoder.

    The model of van den Oord et al. (2017) chains
    `encoder -> VectorQuantizer -> decoder -> likelihood`: the encoder
    maps a batch of data to vectors of size `embedding_dim` (one per
    example, or a map of them, e.g. `(batch, 7, 7, embedding_dim)`), the
    quantizer replaces each vector by its nearest code of a learned
    codebook of `num_embeddings` codes, and the decoder maps the codes to
    the parameters of the likelihood `p(x|z_q)`. The latent
    representation of an example is thus a grid of integers: `encode(x)`
    returns them, `decode(indices)` draws from them.

    Training minimizes

        loss = reconstruction + vq_loss

    where `reconstruction` is the negative log-likelihood
    `-log p(x|z_q)`, summed over the values of an example (nats, as for
    `keras_vae.VAE`) and averaged over the batch, and `vq_loss` the
    quantizer's codebook and commitment losses (see
    `keras_vae.layers.VectorQuantizer`; squared distances summed over an
    example's latent vectors, averaged over the batch). Gradients reach
    the encoder through the quantizer with the straight-through
    estimator. Both terms are added with `add_loss` inside `call()`, so
    the model trains with `compile(optimizer=...)` and no `loss`, on
    every backend. `fit` shows and records `loss`, `reconstruction`,
    `vq_loss` and `perplexity` (the number of codes in use in a batch,
    `exp` of the entropy of their histogram, averaged over the batches).

    There is no KL term and no importance-weighted log-likelihood: the
    model is an autoencoder with a discrete bottleneck. To generate, it
    needs a prior over the code grids. This class provides the simplest
    one: independent categorical distributions, one per latent position,
    fitted to the codes of training data by `fit_prior(x)` and stored as
    a weight (`prior_logits`, saved with the model); `sample(n)` draws
    codes from it and decodes them. Be aware of what that gives:

    - With one code per example (an encoder output `(batch,
      embedding_dim)`), the prior is the frequency of each code and
      `sample` returns decoded codes in the proportions of the training
      data: at most `num_embeddings` distinct outputs, each one a
      "typical" example of its cluster.
    - With a grid of codes, the positions are drawn independently, so
      samples mix local patches of many examples without any global
      structure: textures, not convincing images. The samples of the
      paper come from an autoregressive prior (a PixelCNN over the code
      grid) trained after the VQ-VAE, which this class does not provide;
      train one on `encode(x)` and pass its draws to `decode`.

    Before `fit_prior` the prior is uniform over the codes.

    Args:
        encoder: a Keras layer or model mapping a batch of data to
            `(batch, ..., embedding_dim)`, with its output shape known
            once its input shape is.
        decoder: a Keras layer or model mapping quantized vectors
            `(batch, ..., embedding_dim)` (the encoder's output shape) to
            the likelihood's parameters, shaped like the data.
        num_embeddings: int >= 2. The number of codes.
        embedding_dim: int > 0. The size of a code: the encoder output's
            last axis.
        commitment_cost: float >= 0. Weight of the commitment loss,
            default 0.25.
        ema: bool. Whether the codebook is an exponential moving average
            of the encoder outputs instead of trained by the codebook
            loss, default False.
        decay: float in [0, 1). Decay of the quantizer's moving averages,
            default 0.99.
        epsilon: float > 0. Laplace smoothing of the EMA counts, default
            1e-5.
        dead_code_threshold: float in [0, 1 / num_embeddings). Codes
            whose moving-average share of the assignments falls below it
            are restarted at random encoder outputs; 0 (default) never.
        likelihood: str, config dict or `keras_vae.likelihoods.Likelihood`
            (anything `keras_vae.likelihoods.get` takes). Default
            `"gaussian"` (unit variance: the reconstruction is half the
            squared error, plus a constant); `"bernoulli"` for data in
            `[0, 1]`, the decoder outputting logits.
        seed: int in [0, 2**32) or None. Seed of the quantizer's dead-code
            restarts and, plus one, of `sample`'s draws; None draws a
            random one.
        **kwargs: base model arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: a batch of data, shaped like the encoder's input.
        training: bool. Whether the call is a training step (the EMA
            codebook and the dead-code restarts are updated only then).

    Returns (from `call`):
        The decoder's output (the likelihood's parameters), shaped like
        the data. Use `reconstruct`, `decode` and `sample` for images.

    Example:

    ```python
    import keras
    import numpy as np
    import keras_vae

    encoder = keras.Sequential(
        [keras.Input((8, 8, 1)),
         keras.layers.Conv2D(16, 3, strides=2, padding="same",
                             activation="relu"),
         keras.layers.Conv2D(4, 1)]  # (4, 4, 4): a 4x4 grid of codes
    )
    decoder = keras.Sequential(
        [keras.Input((4, 4, 4)),
         keras.layers.Conv2DTranspose(16, 3, strides=2, padding="same",
                                      activation="relu"),
         keras.layers.Conv2D(1, 3, padding="same")]
    )
    vqvae = keras_vae.VQVAE(
        encoder, decoder, num_embeddings=32, embedding_dim=4, seed=0
    )
    vqvae.compile(optimizer="adam")
    x = np.random.rand(64, 8, 8, 1).astype("float32")
    history = vqvae.fit(x, epochs=1, batch_size=32, verbose=0)
    print(sorted(history.history))
    # ['loss', 'perplexity', 'reconstruction', 'vq_loss']
    codes = vqvae.encode(x[:4])  # (4, 4, 4) int32 code indices
    images = vqvae.decode(codes)  # (4, 8, 8, 1)
    vqvae.fit_prior(x)
    new = vqvae.sample(4, seed=0)  # (4, 8, 8, 1): see above on quality
    ```
    """

    def __init__(
        self,
        encoder,
        decoder,
        num_embeddings,
        embedding_dim,
        commitment_cost=0.25,
        ema=False,
        decay=0.99,
        epsilon=1e-5,
        dead_code_threshold=0.0,
        likelihood="gaussian",
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        # === Checks ===
        for name, value in (("encoder", encoder), ("decoder", decoder)):
            if not isinstance(value, keras.layers.Layer):
                raise ValueError(
                    f"`{name}` must be a Keras layer or model. "
                    f"Received: {name}={value!r} of type {type(value)}"
                )
        self.seed = _validation.seed("seed", seed)

        # === Layers ===
        self.encoder = encoder
        self.decoder = decoder
        self.likelihood = likelihoods.get(likelihood)
        # Checks its own arguments (num_embeddings >= 2, ...).
        self.quantizer = VectorQuantizer(
            num_embeddings,
            embedding_dim,
            commitment_cost=commitment_cost,
            ema=ema,
            decay=decay,
            epsilon=epsilon,
            dead_code_threshold=dead_code_threshold,
            seed=seed,
            dtype=self.dtype_policy,
            name="quantizer",
        )
        self.quantizer.build((None, embedding_dim))
        # `% 2**32` keeps seed 2**32 - 1 valid.
        self.prior_seed_generator = _seed_generator(
            None if self.seed is None else (self.seed + 1) % 2**32
        )

        # === Metrics ===
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.vq_loss_tracker = keras.metrics.Mean(name="vq_loss")
        self.perplexity_tracker = keras.metrics.Mean(name="perplexity")
        self._step_terms = None

        # === Build, where the data's shape is known ===
        self.latent_shape = None
        shape = self._encoder_input_shape()
        if shape is not None and None not in shape[1:]:
            self.build(shape)

    # ------------------------------------------------------------------
    # The quantizer's arguments, as attributes of the model.

    @property
    def num_embeddings(self):
        """The number of codes."""
        return self.quantizer.num_embeddings

    @property
    def embedding_dim(self):
        """The size of a code."""
        return self.quantizer.embedding_dim

    @property
    def codebook(self):
        """The codes, a float32 tensor `(num_embeddings, embedding_dim)`."""
        return self.quantizer.codebook

    # ------------------------------------------------------------------
    # Building.

    def _encoder_input_shape(self):
        return VAE._shape_or_none(getattr(self.encoder, "input_shape", None))

    def build(self, input_shape):
        if self.built:
            return
        input_shape = tuple(input_shape)
        data_shape = input_shape[1:]
        if None in data_shape:
            raise ValueError(
                "`VQVAE` needs data of a known shape (batch first). "
                f"Received: input_shape={input_shape}"
            )
        latent = self.encoder(keras.KerasTensor((1,) + data_shape))
        latent_shape = tuple(getattr(latent, "shape", ()))
        if (
            len(latent_shape) < 2
            or latent_shape[-1] != self.embedding_dim
            or None in latent_shape[1:]
        ):
            raise ValueError(
                "The encoder must output vectors of size embedding_dim="
                f"{self.embedding_dim}, `(batch, ..., {self.embedding_dim})`"
                ", every axis known. For inputs of shape "
                f"{(None,) + data_shape} it outputs {latent_shape}."
            )
        # The grid of codes of one example (no batch, no embedding axis).
        self.latent_shape = latent_shape[1:-1]
        if not self.likelihood.built:
            self.likelihood.setup(data_shape)
        # Log-probabilities of the independent categorical prior, one
        # distribution per latent position (uniform: zeros).
        self.prior_logits = self.add_weight(
            name="prior_logits",
            shape=self.latent_shape + (self.num_embeddings,),
            initializer="zeros",
            trainable=False,
            dtype="float32",
            autocast=False,
        )

    # ------------------------------------------------------------------
    # Keras model API.

    def call(self, inputs, training=None):
        if isinstance(inputs, (list, tuple, dict)):
            raise ValueError(
                "`VQVAE` takes its data as one array or tensor. Received a "
                f"{type(inputs).__name__} of {len(inputs)} elements; if "
                "these are (images, labels), pass the images only."
            )
        z = self.encoder(inputs, training=training)
        details = self.quantizer.quantize_with_details(z, training=training)
        params = self.decoder(details["quantized"], training=training)
        data_shape = tuple(inputs.shape[1:])
        self.likelihood.check_params(params.shape[1:], data_shape)
        p = self.likelihood(params, event_ndims=len(data_shape))
        reconstruction = -ops.mean(p.log_prob(ops.cast(inputs, "float32")))
        self.add_loss(reconstruction)
        self.add_loss(details["loss"])
        # Read back by `compute_loss`, in the same step, for the metrics.
        self._step_terms = (
            reconstruction,
            details["loss"],
            details["perplexity"],
        )
        return params

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        if sample_weight is not None:
            raise ValueError(_SAMPLE_WEIGHT_ERROR.format(sample_weight))
        if y is not None and self._compile_loss is None:
            raise ValueError(_TARGETS_ERROR)
        loss = super().compute_loss(
            x=x, y=y, y_pred=y_pred, sample_weight=sample_weight
        )
        if self._step_terms is not None:
            reconstruction, vq_loss, perplexity = self._step_terms
            self.reconstruction_tracker.update_state(reconstruction)
            self.vq_loss_tracker.update_state(vq_loss)
            self.perplexity_tracker.update_state(perplexity)
            self._step_terms = None
        return loss

    def fit(self, x=None, y=None, *args, **kwargs):
        """Trains the model, as `keras.Model.fit`, on `x` alone.

        Array data is checked first: every value must be finite and in
        the likelihood's support (`[0, 1]` for `"bernoulli"`).

        Args:
            x: the data (arrays, a `tf.data.Dataset`, ...). No `y`: the
                model reconstructs `x`.
            y: must be None unless `compile()` was given a `loss`.
            *args: further positional arguments of `keras.Model.fit`.
            **kwargs: keyword arguments of `keras.Model.fit`.

        Returns:
            A `keras.callbacks.History` with `loss`, `reconstruction`,
            `vq_loss` and `perplexity`.

        Raises:
            ValueError: `y` or `sample_weight` was given, or the data
                holds NaN or inf or values outside the likelihood's
                support.

        Example:

        ```python
        import keras
        import numpy as np
        import keras_vae

        encoder = keras.Sequential(
            [keras.Input((6,)), keras.layers.Dense(8),
             keras.layers.Reshape((4, 2))]  # 4 latent vectors of size 2
        )
        decoder = keras.Sequential(
            [keras.Input((4, 2)), keras.layers.Flatten(),
             keras.layers.Dense(6)]
        )
        vqvae = keras_vae.VQVAE(
            encoder, decoder, num_embeddings=16, embedding_dim=2, seed=0
        )
        x = np.random.rand(8, 6).astype("float32")
        vqvae.compile(optimizer="adam")
        history = vqvae.fit(x, epochs=2, batch_size=4, verbose=0)
        history.history["perplexity"]  # codes in use, one value per epoch
        ```
        """
        if y is not None and self._compile_loss is None:
            raise ValueError(_TARGETS_ERROR)
        if kwargs.get("sample_weight") is not None:
            raise ValueError(
                _SAMPLE_WEIGHT_ERROR.format(kwargs["sample_weight"])
            )
        self.likelihood.check_data("x", x)
        return super().fit(x, y, *args, **kwargs)

    # ------------------------------------------------------------------
    # The user-facing API: numpy in, numpy out, in batches.

    def _batched(self, fn, inputs, batch_size):
        return batched(fn, inputs, batch_size)

    def _as_data(self, x):
        if isinstance(x, (list, tuple, dict)):
            raise ValueError(
                "`VQVAE` takes its data as one array or tensor, `x`. "
                f"Received a {type(x).__name__}."
            )
        x = np.asarray(ops.convert_to_numpy(x))
        self.likelihood.check_data("x", x)
        x = x.astype("float32", copy=False)
        check_data_shape(self._encoder_input_shape(), x.shape)
        if not self.built:
            self.build((None,) + x.shape[1:])
        return x

    def _check_built(self, what):
        if not self.built:
            raise ValueError(
                f"`{what}` needs the shape of the code grid: call the model "
                "on data (or `encode` or `fit` it) first."
            )

    def _as_indices(self, indices, name="indices"):
        self._check_built("decode")
        array = np.asarray(ops.convert_to_numpy(indices))
        expected = (None,) + self.latent_shape
        if (
            array.dtype.kind not in "iu"
            or array.ndim != len(expected)
            or array.shape[1:] != self.latent_shape
        ):
            raise ValueError(
                f"`{name}` must be an integer array of shape {expected} "
                f"(code indices, as `encode` returns). Received: "
                f"{name}.shape={array.shape}, dtype={array.dtype}"
            )
        if array.size and (
            array.min() < 0 or array.max() >= self.num_embeddings
        ):
            raise ValueError(
                f"`{name}` must hold code indices in [0, "
                f"num_embeddings={self.num_embeddings}). Received values in "
                f"[{array.min()}, {array.max()}]."
            )
        return array.astype("int32")

    def encode(self, x, batch_size=256):
        """The code indices of data: the nearest code of each latent vector.

        Args:
            x: array `(n, ...)`, like the training data.
            batch_size: int. Examples per forward pass, default 256.

        Returns:
            An int32 numpy array `(n, *latent_shape)`: one code index in
            `[0, num_embeddings)` per latent position (`(n,)` with one
            code per example).

        Raises:
            ValueError: `x` holds NaN or inf, values outside the
                likelihood's support, or has the wrong shape.

        Example:

        ```python
        import keras
        import numpy as np
        import keras_vae

        encoder = keras.Sequential(
            [keras.Input((6,)), keras.layers.Dense(8),
             keras.layers.Reshape((4, 2))]  # 4 latent vectors of size 2
        )
        decoder = keras.Sequential(
            [keras.Input((4, 2)), keras.layers.Flatten(),
             keras.layers.Dense(6)]
        )
        vqvae = keras_vae.VQVAE(
            encoder, decoder, num_embeddings=16, embedding_dim=2, seed=0
        )
        x = np.random.rand(8, 6).astype("float32")
        codes = vqvae.encode(x)  # (8, 4) int32, values in [0, 16)
        ```
        """
        x = self._as_data(x)
        return self._batched(
            lambda b: self.quantizer.get_code_indices(
                self.encoder(b, training=False)
            ),
            x,
            batch_size,
        ).astype("int32")

    def decode(self, indices, batch_size=256):
        """Decodes code indices into the mean of `p(x|z_q)`.

        For the Gaussian likelihood that is the decoder's output; for the
        Bernoulli one, probabilities.

        Args:
            indices: integer array `(n, *latent_shape)` of code indices,
                as `encode` returns.
            batch_size: int. Examples per forward pass, default 256.

        Returns:
            A float32 numpy array `(n, ...)` shaped like the data.

        Raises:
            ValueError: `indices` is not an integer array of that shape,
                or holds indices outside `[0, num_embeddings)`.

        Example:

        ```python
        import keras
        import numpy as np
        import keras_vae

        encoder = keras.Sequential(
            [keras.Input((6,)), keras.layers.Dense(8),
             keras.layers.Reshape((4, 2))]  # 4 latent vectors of size 2
        )
        decoder = keras.Sequential(
            [keras.Input((4, 2)), keras.layers.Flatten(),
             keras.layers.Dense(6)]
        )
        vqvae = keras_vae.VQVAE(
            encoder, decoder, num_embeddings=16, embedding_dim=2, seed=0
        )
        x = np.random.rand(8, 6).astype("float32")
        images = vqvae.decode(np.zeros((1, 4), "int32"))  # (1, 6)
        ```
        """
        indices = self._as_indices(indices)
        return self._batched(self._decode_batch, indices, batch_size)

    def _decode_batch(self, indices):
        vectors = self.quantizer.quantize_indices(indices)
        params = self.decoder(vectors, training=False)
        return self.likelihood(params).mean()

    def reconstruct(self, x, batch_size=256):
        """Encodes data into codes and decodes them: `decode(encode(x))`.

        Args:
            x: array `(n, ...)`, like the training data.
            batch_size: int. Examples per forward pass, default 256.

        Returns:
            A float32 numpy array shaped like `x`: the mean of `p(x|z_q)`.

        Example:

        ```python
        import keras
        import numpy as np
        import keras_vae

        encoder = keras.Sequential(
            [keras.Input((6,)), keras.layers.Dense(8),
             keras.layers.Reshape((4, 2))]  # 4 latent vectors of size 2
        )
        decoder = keras.Sequential(
            [keras.Input((4, 2)), keras.layers.Flatten(),
             keras.layers.Dense(6)]
        )
        vqvae = keras_vae.VQVAE(
            encoder, decoder, num_embeddings=16, embedding_dim=2, seed=0
        )
        x = np.random.rand(8, 6).astype("float32")
        reconstructions = vqvae.reconstruct(x)  # (8, 6)
        ```
        """
        return self.decode(self.encode(x, batch_size), batch_size)

    def fit_prior(self, x, pseudo_count=1.0, batch_size=256):
        """Fits the independent categorical prior to the codes of `x`.

        For each latent position, the probability of code `k` becomes
        `(n_k + pseudo_count) / (n + num_embeddings * pseudo_count)`,
        with `n_k` the number of examples of `x` whose code there is `k`.
        The log-probabilities are stored in the weight `prior_logits`
        (saved with the model). Call it after training, on the training
        data.

        Args:
            x: array `(n, ...)`, like the training data.
            pseudo_count: float > 0. Added to every count (Laplace
                smoothing), so that every code keeps some probability.
                Default 1.0.
            batch_size: int. Examples per forward pass, default 256.

        Returns:
            A float32 numpy array `(*latent_shape, num_embeddings)`: the
            log-probabilities of the codes at each position.

        Example:

        ```python
        import keras
        import numpy as np
        import keras_vae

        encoder = keras.Sequential(
            [keras.Input((6,)), keras.layers.Dense(8),
             keras.layers.Reshape((4, 2))]  # 4 latent vectors of size 2
        )
        decoder = keras.Sequential(
            [keras.Input((4, 2)), keras.layers.Flatten(),
             keras.layers.Dense(6)]
        )
        vqvae = keras_vae.VQVAE(
            encoder, decoder, num_embeddings=16, embedding_dim=2, seed=0
        )
        x = np.random.rand(8, 6).astype("float32")
        log_probs = vqvae.fit_prior(x)  # (4, 16): 4 positions, 16 codes
        ```
        """
        pseudo_count = _validation.positive_float("pseudo_count", pseudo_count)
        codes = self.encode(x, batch_size)
        n = len(codes)
        flat = codes.reshape(n, -1)
        positions = flat.shape[1]
        counts = np.zeros((positions, self.num_embeddings), "float64")
        np.add.at(counts, (np.arange(positions)[None, :], flat), 1.0)
        log_probs = np.log(counts + pseudo_count) - math.log(
            n + self.num_embeddings * pseudo_count
        )
        log_probs = log_probs.reshape(
            self.latent_shape + (self.num_embeddings,)
        ).astype("float32")
        self.prior_logits.assign(log_probs)
        return log_probs

    def sample_codes(self, num_samples, seed=None):
        """Draws code grids from the prior (see `fit_prior`).

        Args:
            num_samples: int > 0. How many grids to draw.
            seed: int in [0, 2**32), `keras.random.SeedGenerator` or
                None. The same int gives the same codes; None uses the
                model's own generator (fresh codes at every call).

        Returns:
            An int32 numpy array `(num_samples, *latent_shape)`.

        Example:

        ```python
        import keras
        import numpy as np
        import keras_vae

        encoder = keras.Sequential(
            [keras.Input((6,)), keras.layers.Dense(8),
             keras.layers.Reshape((4, 2))]  # 4 latent vectors of size 2
        )
        decoder = keras.Sequential(
            [keras.Input((4, 2)), keras.layers.Flatten(),
             keras.layers.Dense(6)]
        )
        vqvae = keras_vae.VQVAE(
            encoder, decoder, num_embeddings=16, embedding_dim=2, seed=0
        )
        x = np.random.rand(8, 6).astype("float32")
        vqvae.fit_prior(x)
        codes = vqvae.sample_codes(5, seed=0)  # (5, 4), the same for seed 0
        ```
        """
        num_samples = _validation.positive_int("num_samples", num_samples)
        if not isinstance(seed, keras.random.SeedGenerator):
            seed = _validation.seed("seed", seed)
        self._check_built("sample")
        logits = ops.reshape(
            ops.convert_to_tensor(self.prior_logits), (-1, self.num_embeddings)
        )
        draws = keras.random.categorical(
            logits,
            num_samples,
            dtype="int32",
            seed=self.prior_seed_generator if seed is None else seed,
        )  # (positions, num_samples)
        draws = np.asarray(ops.convert_to_numpy(draws)).T
        return draws.reshape((num_samples,) + self.latent_shape)

    def sample(self, num_samples, seed=None, batch_size=256):
        """Generates data: decodes code grids drawn from the prior.

        The prior is independent per latent position (see the class
        docstring): with a grid of codes, samples have local texture but
        no global structure.

        Args:
            num_samples: int > 0. How many examples to generate.
            seed: int in [0, 2**32), `keras.random.SeedGenerator` or
                None. The same int gives the same examples; None uses the
                model's own generator.
            batch_size: int. Examples per forward pass, default 256.

        Returns:
            A float32 numpy array `(num_samples, ...)`: the mean of
            `p(x|z_q)` for each drawn grid.

        Example:

        ```python
        import keras
        import numpy as np
        import keras_vae

        encoder = keras.Sequential(
            [keras.Input((6,)), keras.layers.Dense(8),
             keras.layers.Reshape((4, 2))]  # 4 latent vectors of size 2
        )
        decoder = keras.Sequential(
            [keras.Input((4, 2)), keras.layers.Flatten(),
             keras.layers.Dense(6)]
        )
        vqvae = keras_vae.VQVAE(
            encoder, decoder, num_embeddings=16, embedding_dim=2, seed=0
        )
        x = np.random.rand(8, 6).astype("float32")
        vqvae.fit_prior(x)
        new = vqvae.sample(5, seed=0)  # (5, 6)
        ```
        """
        return self.decode(self.sample_codes(num_samples, seed), batch_size)

    # ------------------------------------------------------------------
    # Serialization.

    def log_likelihood(self, *args, **kwargs):
        """Not defined for a VQ-VAE: it raises `NotImplementedError`.

        A VQ-VAE is an autoencoder with a discrete bottleneck, trained
        without a KL term or a prior: it has no bound on `log p(x)` to
        estimate. Compare VQ-VAEs by their reconstruction (`evaluate`'s
        `reconstruction`, in nats) and their codebook use (`perplexity`).

        Example:

        ```python
        import keras
        import keras_vae

        encoder = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4)])
        decoder = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6)])
        vqvae = keras_vae.VQVAE(
            encoder, decoder, num_embeddings=8, embedding_dim=4
        )
        try:
            vqvae.log_likelihood(None)
        except NotImplementedError as error:
            print(error)
        ```
        """
        raise NotImplementedError(
            "A VQ-VAE has no likelihood bound (no KL term, no prior in "
            "training), so it has no importance-weighted log-likelihood. "
            "Compare VQ-VAEs by `evaluate`'s `reconstruction` (nats) and "
            "`perplexity`."
        )

    score = log_likelihood

    def export(self, filepath, format="tf_saved_model", verbose=False):
        """Exports the deterministic endpoints for serving.

        `encode` (data to code indices) and `decode` (code indices to the
        mean of `p(x|z_q)`), as a TF SavedModel (TensorFlow and JAX
        backends) or ONNX files (every backend), into the new directory
        `filepath`. See `keras_vae.export.export`.

        Args:
            filepath: str or path-like. The directory to create; it must
                not exist.
            format: str. `"tf_saved_model"` (default) or `"onnx"`.
            verbose: bool. Print the converters' messages. Default False.

        Returns:
            The path written, a str.

        Example:

        ```python
        import os
        import tempfile

        import keras
        import keras_vae

        import numpy as np

        encoder = keras.Sequential([keras.Input((6,)), keras.layers.Dense(2)])
        decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(6)])
        vqvae = keras_vae.VQVAE(
            encoder, decoder, num_embeddings=8, embedding_dim=2, seed=0
        )
        vqvae.encode(np.random.rand(4, 6).astype("float32"))  # builds it
        path = vqvae.export(
            os.path.join(tempfile.mkdtemp(), "vqvae_onnx"), format="onnx"
        )  # encode.onnx, decode.onnx
        ```
        """
        from keras_vae.export import export

        return export(self, filepath, format=format, verbose=verbose)

    @classmethod
    def from_preset(cls, preset, max_parameters=None):
        """Loads a pretrained VQ-VAE: a preset's name or directory.

        The same checks as `keras_vae.VAE.from_preset` (checksums, safe
        mode, a parameter budget, and the outputs stored in its
        `reference.npz`: the decoding of fixed code grids, and the
        encoder's vectors for that decoding).

        Args:
            preset: str. A preset name (`keras_vae.presets.list_presets()`)
                or the path of a preset directory.
            max_parameters: int or None. The most weights the model may
                allocate; None means
                `keras_vae.presets.DEFAULT_MAX_PARAMETERS`.

        Returns:
            A `VQVAE`, uncompiled, with its fitted prior, its metadata in
            `preset_metadata`.

        Raises:
            keras_vae.presets.PresetError: the preset is unknown, damaged,
                modified, too large, or not a `VQVAE`.

        Example:

        ```python
        import keras_vae

        vqvae = keras_vae.VQVAE.from_preset("mnist_vqvae")
        codes = vqvae.sample_codes(4, seed=0)  # (4, 16) code indices
        images = vqvae.decode(codes)
        ```
        """
        from keras_vae.presets import _preset_io

        return _preset_io.load_as(cls, preset, max_parameters)

    def save_to_preset(self, directory, metadata=None):
        """Saves the model as a preset directory, atomically; as
        `keras_vae.VAE.save_to_preset` (never over files of yours).

        Args:
            directory: str. A new or empty directory, or a preset to
                replace.
            metadata: dict or None. Extra metadata, JSON values only.

        Returns:
            `directory`, absolute.

        Example:

        ```python
        import os
        import tempfile

        import keras
        import numpy as np
        import keras_vae

        encoder = keras.Sequential(
            [keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 2, strides=2)]
        )
        decoder = keras.Sequential(
            [keras.Input((4, 4, 4)), keras.layers.Flatten(),
             keras.layers.Dense(64), keras.layers.Reshape((8, 8, 1))]
        )
        vqvae = keras_vae.VQVAE(encoder, decoder, num_embeddings=8,
                                embedding_dim=4, likelihood="bernoulli")
        vqvae(np.zeros((1, 8, 8, 1), "float32"))  # Build the weights.
        directory = os.path.join(tempfile.mkdtemp(), "my_vqvae")
        vqvae.save_to_preset(directory)
        same = keras_vae.VQVAE.from_preset(directory)
        ```
        """
        from keras_vae.presets import _preset_io

        return _preset_io.save(self, directory, metadata=metadata)

    def _dummy_inputs(self, data_shape):
        return np.zeros((1,) + tuple(data_shape), "float32")

    def _preview(self, num_samples):
        """Samples for a preset's `samples.png`: seed 0."""
        return self.sample(num_samples, seed=0)

    def _encoded(self, x):
        """The encoder's vectors (before quantization), numpy."""
        return self._batched(lambda b: self.encoder(b, training=False), x, 256)

    def _preset_reference(self):
        """A preset's `reference.npz`: 8 code grids (numpy seed 0, as
        floats), their decoding, and the encoder's vectors for it."""
        rng = np.random.default_rng(0)
        codes = rng.integers(0, self.num_embeddings, (8,) + self.latent_shape)
        decoded = self.decode(codes)
        return {
            "codes": codes.astype("float32"),
            "decoded": decoded,
            "encoded": self._encoded(decoded),
        }

    def _preset_reference_checks(self, reference, path):
        """`(key, actual, expected)` to compare with a preset's reference."""
        from keras_vae.presets._preset_io import PresetError

        codes, decoded, encoded = (
            reference.get(key) for key in ("codes", "decoded", "encoded")
        )
        data_shape = tuple(self._encoder_input_shape()[1:])
        grid = tuple(self.latent_shape)
        if (
            codes is None
            or decoded is None
            or encoded is None
            or codes.shape[1:] != grid
            or not 0 < len(codes) <= 64
            or decoded.shape != (len(codes),) + data_shape
            or encoded.shape != (len(codes),) + grid + (self.embedding_dim,)
            or np.any(codes != np.round(codes))
            or np.any((codes < 0) | (codes >= self.num_embeddings))
        ):
            raise PresetError(
                f"{path} does not hold the reference of this VQ-VAE: "
                f"`codes` (n, *{grid}) of indices in [0, "
                f"{self.num_embeddings}), n <= 64, their `decoded` "
                f"(n, *{data_shape}) and `encoded` (n, *{grid}, "
                f"{self.embedding_dim})."
            )
        return [
            ("decoded", self.decode(codes.astype("int32")), decoded),
            ("encoded", self._encoded(decoded), encoded),
        ]

    def get_config(self):
        config = super().get_config()
        quantizer = self.quantizer
        config.update(
            {
                "encoder": keras.saving.serialize_keras_object(self.encoder),
                "decoder": keras.saving.serialize_keras_object(self.decoder),
                "num_embeddings": quantizer.num_embeddings,
                "embedding_dim": quantizer.embedding_dim,
                "commitment_cost": quantizer.commitment_cost,
                "ema": quantizer.ema,
                "decay": quantizer.decay,
                "epsilon": quantizer.epsilon,
                "dead_code_threshold": quantizer.dead_code_threshold,
                "likelihood": likelihoods.serialize(self.likelihood),
                "seed": self.seed,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("encoder", "decoder"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)
