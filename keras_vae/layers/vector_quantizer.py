import keras
from keras import ops

from keras_vae import _validation
from keras_vae._seed_state import SeedStateMixin
from keras_vae.layers.reparam_sampling import _seed_generator


def squared_distances(flat, codebook):
    """`(N, K)` squared Euclidean distances between the rows of `flat`
    `(N, D)` and the codes of `codebook` `(K, D)`, by one matmul."""
    return (
        ops.sum(ops.square(flat), axis=1, keepdims=True)
        - 2.0 * ops.matmul(flat, ops.transpose(codebook))
        + ops.sum(ops.square(codebook), axis=1)[None, :]
    )


@keras.saving.register_keras_serializable(package="keras_vae")
class VectorQuantizer(SeedStateMixin, keras.layers.Layer):
    """Snaps each vector to its nearest code of a learned codebook.

    The bottleneck of a VQ-VAE (van den Oord et al., 2017): the layer
    holds a codebook of `num_embeddings` vectors of size `embedding_dim`
    and replaces every vector of its input (the last axis) by the nearest
    code, in Euclidean distance. Any leading axes are kept: a `(batch,
    height, width, embedding_dim)` feature map becomes a map of codes,
    one per position.

    The nearest-code lookup has no gradient, so the output uses the
    straight-through estimator: its value is the code `q`, its gradient
    with respect to the input `x` is the identity (written
    `q + (x - stop_gradient(x))`, which has the value of `q` exactly and
    the gradient of `x + stop_gradient(q - x)`). Two losses are added with
    `add_loss`, as one term:

        codebook_loss + commitment_cost * commitment_loss

    where `codebook_loss = ||stop_gradient(x) - q||^2` moves the codes
    towards the encoder's outputs and `commitment_loss =
    ||x - stop_gradient(q)||^2` keeps the encoder's outputs close to their
    codes. Both are squared distances summed over every vector of an
    example (and its `embedding_dim` values), averaged over the batch (the
    first axis): the scale of the paper, which matches a reconstruction
    term summed over an example. Their values are equal; only their
    gradients differ.

    With `ema=True` the codebook is not trained by gradient: it is an
    exponential moving average (decay `decay`) of the encoder outputs
    assigned to each code, as in the paper's appendix. The codebook loss
    is then absent (the loss is `commitment_cost * commitment_loss`) and
    the codebook is a non-trainable weight, updated in every training
    call (`training=True`, layer trainable) by variable assignments that
    work in compiled steps on every backend, as `BatchNormalization`'s
    moving statistics do. The counts are Laplace-smoothed with `epsilon`.
    The moving averages start as if each code had been assigned one vector
    equal to itself, so a code no vector picks stays where it is.

    Codes that no vector picks stop learning ("dead codes"). With
    `dead_code_threshold > 0`, the layer keeps a moving average (decay
    `decay`) of each code's share of the assigned vectors, starting at the
    uniform share `1 / num_embeddings`; in each training call, every code
    whose share has fallen below the threshold is restarted at one of the
    current batch's encoder outputs, chosen at random (drawn from the
    layer's seed generator), and its share is reset to the uniform one.
    This works with and without `ema`.

    The perplexity of the code assignments, `exp(entropy)` of the
    histogram of codes in a batch, tells how many codes are in use: 1
    when every vector gets the same code, `num_embeddings` when they are
    spread evenly. `quantize_with_details` returns it with the output;
    `compute_perplexity(indices)` computes it for given code indices.

    Weights: `embeddings` (the codebook; trainable unless `ema`), and
    where needed the non-trainable `ema_cluster_size` (the moving-average
    count of vectors per code: with `ema` or restarts), `ema_embed_sum`
    (with `ema`) and `embedding_offsets` (restarts without `ema`: a
    compiled JAX step keeps only non-trainable variables' assignments, so
    a restart moves a trained code by this offset). `codebook` is the
    codebook in use, offsets included. All are float32, under any dtype
    policy; the distances and losses are computed in float32 too.

    Args:
        num_embeddings: int >= 2. The number of codes `K`.
        embedding_dim: int > 0. The size of each code: the last axis of
            the input.
        commitment_cost: float >= 0. The weight `beta` of the commitment
            loss, default 0.25.
        ema: bool. Whether the codebook is an exponential moving average
            of the encoder outputs (True) or trained by gradient with the
            codebook loss (False, default).
        decay: float in [0, 1). Decay of the moving averages (the EMA
            codebook and the code usage), default 0.99.
        epsilon: float > 0. Laplace smoothing of the EMA counts, default
            1e-5.
        dead_code_threshold: float in [0, 1 / num_embeddings). Codes
            whose moving-average share of the assigned vectors falls
            below it are restarted; 0 (default) never restarts. A share
            is `1 / num_embeddings` when all codes are used equally, so
            the threshold must be below that (else some code would be
            restarted at every step); e.g. `0.1 / num_embeddings`.
        embeddings_initializer: initializer of the codebook, default
            `"random_uniform"` (uniform in [-0.05, 0.05]).
        seed: int in [0, 2**32) or None. Seed of the generator that picks
            the restarted codes' new values; None draws a random one.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: tensor `(batch, ..., embedding_dim)`: encoder outputs.
        training: bool. Whether the call is a training step: the EMA
            codebook, the code usage and dead-code restarts are updated
            only then.

    Input shape:
        `(batch, d1, ..., dn, embedding_dim)`, n >= 0.

    Output shape:
        The input's: the quantized vectors, with the straight-through
        gradient.

    Example:

    ```python
    import keras
    import numpy as np
    import keras_vae

    inputs = keras.Input((8, 8, 1))
    h = keras.layers.Conv2D(16, 3, strides=2, padding="same")(inputs)
    z = keras.layers.Conv2D(4, 1)(h)  # (4, 4, 4): embedding_dim 4
    q = keras_vae.layers.VectorQuantizer(
        num_embeddings=32, embedding_dim=4, seed=0
    )(z)  # + the codebook and commitment losses, via add_loss
    h = keras.layers.Conv2DTranspose(16, 3, strides=2, padding="same")(q)
    outputs = keras.layers.Conv2D(1, 3, padding="same")(h)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse")
    x = np.random.rand(32, 8, 8, 1).astype("float32")
    model.fit(x, x, epochs=1, batch_size=16, verbose=0)
    ```

    The codes of a batch, and back:

    ```python
    import numpy as np
    import keras_vae

    layer = keras_vae.layers.VectorQuantizer(16, 2, ema=True, seed=0)
    z = np.random.rand(4, 3, 2).astype("float32")
    details = layer.quantize_with_details(z, training=True)  # EMA update
    indices = layer.get_code_indices(z)  # (4, 3) int32
    vectors = layer.quantize_indices(indices)  # (4, 3, 2)
    float(layer.compute_perplexity(indices))  # between 1 and 12
    ```
    """

    def __init__(
        self,
        num_embeddings,
        embedding_dim,
        commitment_cost=0.25,
        ema=False,
        decay=0.99,
        epsilon=1e-5,
        dead_code_threshold=0.0,
        embeddings_initializer="random_uniform",
        seed=None,
        **kwargs,
    ):
        # Distances and losses are computed in float32: no cast of the
        # inputs to a mixed-precision compute dtype.
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        self.num_embeddings = _validation.positive_int(
            "num_embeddings", num_embeddings
        )
        if self.num_embeddings < 2:
            raise ValueError(
                "`num_embeddings` must be an integer >= 2: a codebook of "
                "one code maps every vector to it. Received: "
                f"num_embeddings={num_embeddings!r}"
            )
        self.embedding_dim = _validation.positive_int(
            "embedding_dim", embedding_dim
        )
        self.commitment_cost = _validation.non_negative_float(
            "commitment_cost", commitment_cost
        )
        if not isinstance(ema, bool):
            raise ValueError(
                f"`ema` must be True or False. Received: ema={ema!r}"
            )
        self.ema = ema
        self.decay = _validation.non_negative_float("decay", decay)
        if self.decay >= 1.0:
            raise ValueError(
                f"`decay` must be a number in [0, 1). Received: decay={decay!r}"
            )
        self.epsilon = _validation.positive_float("epsilon", epsilon)
        self.dead_code_threshold = _validation.non_negative_float(
            "dead_code_threshold", dead_code_threshold
        )
        if self.dead_code_threshold * self.num_embeddings >= 1.0:
            raise ValueError(
                "`dead_code_threshold` must be below 1 / num_embeddings "
                f"= {1.0 / self.num_embeddings:g}, the share of each code "
                "when all are used equally (else some code would be "
                "restarted at every step). Received: "
                f"dead_code_threshold={dead_code_threshold!r}"
            )
        self.embeddings_initializer = keras.initializers.get(
            embeddings_initializer
        )
        self.seed = _validation.seed("seed", seed)
        self.seed_generator = _seed_generator(self.seed)

    @property
    def restarts_dead_codes(self):
        """Whether dead codes are restarted (`dead_code_threshold > 0`)."""
        return self.dead_code_threshold > 0

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) < 2 or input_shape[-1] != self.embedding_dim:
            raise ValueError(
                "`VectorQuantizer` takes inputs of shape (batch, ..., "
                f"embedding_dim={self.embedding_dim}). Received: "
                f"input_shape={input_shape}"
            )
        shape = (self.num_embeddings, self.embedding_dim)
        self.embeddings = self.add_weight(
            name="embeddings",
            shape=shape,
            initializer=self.embeddings_initializer,
            trainable=not self.ema,
            dtype="float32",
            autocast=False,
        )
        if self.ema or self.restarts_dead_codes:
            # A count of vectors per code: the EMA codebook's denominator,
            # and the usage that decides restarts (its share of the total).
            self.ema_cluster_size = self.add_weight(
                name="ema_cluster_size",
                shape=(self.num_embeddings,),
                initializer="ones",
                trainable=False,
                dtype="float32",
                autocast=False,
            )
        if self.ema:
            # The sum of the vectors assigned to each code: starts as one
            # vector, the code itself (sum / count = the code).
            self.ema_embed_sum = self.add_weight(
                name="ema_embed_sum",
                shape=shape,
                initializer="zeros",
                trainable=False,
                dtype="float32",
                autocast=False,
            )
            # A copy: two variables sharing one buffer break JAX's buffer
            # donation in compiled steps.
            self.ema_embed_sum.assign(ops.copy(self.embeddings.value))
        elif self.restarts_dead_codes:
            # A trained codebook cannot be assigned inside a compiled JAX
            # step (Keras keeps only non-trainable variables' updates): a
            # restart shifts the code with this non-trainable offset.
            self.embedding_offsets = self.add_weight(
                name="embedding_offsets",
                shape=shape,
                initializer="zeros",
                trainable=False,
                dtype="float32",
                autocast=False,
            )

    @property
    def codebook(self):
        """The codes, a float32 tensor `(num_embeddings, embedding_dim)`."""
        codebook = ops.convert_to_tensor(self.embeddings)
        if not self.ema and self.restarts_dead_codes:
            codebook = codebook + self.embedding_offsets
        return codebook

    def _nearest(self, flat, codebook):
        """The index of the nearest code of each row of `flat` (N, D)."""
        distances = squared_distances(flat, codebook)
        return ops.cast(ops.argmin(distances, axis=1), "int32")

    def _check_inputs(self, shape):
        if len(shape) < 2 or shape[-1] != self.embedding_dim:
            raise ValueError(
                "`VectorQuantizer` takes inputs of shape (batch, ..., "
                f"embedding_dim={self.embedding_dim}). Received: "
                f"inputs.shape={tuple(shape)}"
            )

    def get_code_indices(self, inputs):
        """The index of the nearest code of each vector of `inputs`.

        Args:
            inputs: tensor `(batch, ..., embedding_dim)`.

        Returns:
            An int32 tensor `(batch, ...)`.

        Example:

        ```python
        import numpy as np
        import keras_vae

        layer = keras_vae.layers.VectorQuantizer(16, 2, seed=0)
        z = np.random.rand(4, 3, 2).astype("float32")
        indices = layer.get_code_indices(z)  # (4, 3) int32
        ```
        """
        self._check_inputs(tuple(inputs.shape))
        if not self.built:
            self.build(tuple(inputs.shape))
        x = ops.cast(inputs, "float32")
        shape = ops.shape(x)
        flat = ops.reshape(x, (-1, self.embedding_dim))
        indices = self._nearest(flat, self.codebook)
        return ops.reshape(indices, shape[:-1])

    def quantize_indices(self, indices):
        """The codes of given code indices.

        Args:
            indices: integer tensor `(batch, ...)` of values in
                `[0, num_embeddings)`.

        Returns:
            A tensor `(batch, ..., embedding_dim)` in the layer's compute
            dtype.

        Example:

        ```python
        import numpy as np
        import keras_vae

        layer = keras_vae.layers.VectorQuantizer(16, 2, seed=0)
        vectors = layer.quantize_indices(np.array([[0, 5], [15, 5]]))
        vectors.shape  # (2, 2, 2)
        ```
        """
        if not self.built:
            self.build((None, self.embedding_dim))
        indices = ops.cast(indices, "int32")
        vectors = ops.take(self.codebook, indices, axis=0)
        return ops.cast(vectors, self.compute_dtype)

    def compute_perplexity(self, indices):
        """The perplexity of code indices: `exp(entropy)` of their histogram.

        With `p_k` the fraction of the indices equal to `k`,
        `exp(-sum_k p_k log p_k)`: 1 when all are the same code,
        `num_embeddings` when the codes are used equally often.

        Args:
            indices: integer tensor of any shape, values in
                `[0, num_embeddings)`.

        Returns:
            A float32 scalar tensor.

        Example:

        ```python
        import numpy as np
        import keras_vae

        layer = keras_vae.layers.VectorQuantizer(16, 2, seed=0)
        float(layer.compute_perplexity(np.array([0, 0, 1, 1])))  # 2.0
        ```
        """
        one_hot = ops.one_hot(
            ops.reshape(ops.cast(indices, "int32"), (-1,)),
            self.num_embeddings,
            dtype="float32",
        )
        return self._perplexity(ops.mean(one_hot, axis=0))

    @staticmethod
    def _perplexity(probs):
        safe = ops.where(probs > 0, probs, ops.ones_like(probs))
        return ops.exp(-ops.sum(probs * ops.log(safe)))

    def quantize_with_details(self, inputs, training=None):
        """Quantizes `inputs` and returns the pieces a model needs.

        What `call` does (with the same updates in training), without
        adding the loss: the caller (e.g. `keras_vae.VQVAE`) adds it.

        Args:
            inputs: tensor `(batch, ..., embedding_dim)`.
            training: bool. Whether to update the EMA codebook, the usage
                and restart dead codes.

        Returns:
            A dict: `quantized` (the output of `call`, in the compute
            dtype), `indices` (int32, `(batch, ...)`), `loss` (the float32
            scalar `call` adds with `add_loss`) and `perplexity` (float32
            scalar, of this batch's codes).

        Example:

        ```python
        import numpy as np
        import keras_vae

        layer = keras_vae.layers.VectorQuantizer(16, 2, seed=0)
        z = np.random.rand(4, 3, 2).astype("float32")
        details = layer.quantize_with_details(z, training=True)
        loss = details["loss"]  # to add to the model's loss
        float(details["perplexity"])  # codes in use in this batch
        ```
        """
        self._check_inputs(tuple(inputs.shape))
        if not self.built:
            self.build(tuple(inputs.shape))
        x = ops.cast(inputs, "float32")
        shape = ops.shape(x)
        flat = ops.reshape(x, (-1, self.embedding_dim))
        fixed = ops.stop_gradient(flat)
        codebook = self.codebook
        indices = self._nearest(fixed, codebook)
        q = ops.reshape(ops.take(codebook, indices, axis=0), shape)

        # === Losses ===
        axes = tuple(range(1, len(x.shape)))
        commitment = ops.mean(
            ops.sum(ops.square(x - ops.stop_gradient(q)), axis=axes)
        )
        loss = self.commitment_cost * commitment
        if not self.ema:
            loss = loss + ops.mean(
                ops.sum(ops.square(ops.stop_gradient(x) - q), axis=axes)
            )

        # === Usage ===
        one_hot = ops.one_hot(indices, self.num_embeddings, dtype="float32")
        counts = ops.sum(one_hot, axis=0)
        perplexity = self._perplexity(counts / ops.sum(counts))
        if training and self.trainable:
            self._update(fixed, one_hot, counts)

        # The value of q, exactly; the gradient of x (straight-through).
        quantized = q + (x - ops.stop_gradient(x))
        return {
            "quantized": ops.cast(quantized, self.compute_dtype),
            "indices": ops.reshape(indices, shape[:-1]),
            "loss": loss,
            "perplexity": perplexity,
        }

    def _update(self, flat, one_hot, counts):
        """The training-time assignments: EMA codebook, usage, restarts."""
        if not (self.ema or self.restarts_dead_codes):
            return
        decay = self.decay
        cluster_size = decay * self.ema_cluster_size + (1.0 - decay) * counts
        if self.ema:
            sums = ops.matmul(ops.transpose(one_hot), flat)
            embed_sum = decay * self.ema_embed_sum + (1.0 - decay) * sums
            total = ops.sum(cluster_size)
            smoothed = (
                (cluster_size + self.epsilon)
                / (total + self.num_embeddings * self.epsilon)
                * total
            )
            embeddings = embed_sum / smoothed[:, None]
        if self.restarts_dead_codes:
            dead = cluster_size / ops.sum(cluster_size) < (
                self.dead_code_threshold
            )
            # One random vector of the batch per code (used where dead).
            count = ops.shape(flat)[0]
            u = keras.random.uniform(
                (self.num_embeddings,), seed=self.seed_generator
            )
            picks = ops.minimum(
                ops.cast(ops.floor(u * ops.cast(count, "float32")), "int32"),
                ops.cast(count, "int32") - 1,
            )
            candidates = ops.take(flat, picks, axis=0)
            cluster_size = ops.where(dead, ops.mean(cluster_size), cluster_size)
            dead = dead[:, None]
            if self.ema:
                embed_sum = ops.where(
                    dead, candidates * cluster_size[:, None], embed_sum
                )
                embeddings = ops.where(dead, candidates, embeddings)
            else:
                trained = ops.stop_gradient(
                    ops.convert_to_tensor(self.embeddings)
                )
                self.embedding_offsets.assign(
                    ops.where(
                        dead,
                        candidates - trained,
                        ops.convert_to_tensor(self.embedding_offsets),
                    )
                )
        self.ema_cluster_size.assign(cluster_size)
        if self.ema:
            self.ema_embed_sum.assign(embed_sum)
            self.embeddings.assign(embeddings)

    def call(self, inputs, training=None):
        details = self.quantize_with_details(inputs, training=training)
        self.add_loss(details["loss"])
        return details["quantized"]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_embeddings": self.num_embeddings,
                "embedding_dim": self.embedding_dim,
                "commitment_cost": self.commitment_cost,
                "ema": self.ema,
                "decay": self.decay,
                "epsilon": self.epsilon,
                "dead_code_threshold": self.dead_code_threshold,
                "embeddings_initializer": keras.initializers.serialize(
                    self.embeddings_initializer
                ),
                "seed": self.seed,
            }
        )
        return config
