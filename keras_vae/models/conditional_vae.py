import keras
import numpy as np
from keras import ops

from keras_vae import _validation
from keras_vae.callbacks.nan_guard import check_data
from keras_vae.models.vae import VAE

_TARGETS_ERROR = (
    "`ConditionalVAE` takes the condition as part of its inputs, "
    "`fit((x, condition))` or `fit([x, condition])`, and has no targets "
    "`y`. A data set must yield `((x, condition),)` batches: map a "
    "`tf.data.Dataset` of `(x, condition)` pairs with "
    "`dataset.map(lambda x, c: ((x, c),))`."
)


@keras.saving.register_keras_serializable(package="keras_vae")
class ConditionalVAE(VAE):
    """A conditional VAE: the encoder sees `[x, c]`, the decoder `[z, c]`.

    The conditional VAE of Sohn et al. (2015) learns `p(x|c)` for a
    condition `c` given with each example: a class label, attributes,
    features of any kind. Its bound is the VAE's with everything
    conditioned on `c`,

        ELBO(x|c) = E_q[log p(x|z, c)] - KL(q(z|x, c) || p(z))

    with a prior `p(z)` that does not depend on `c` (by default N(0, I)).
    Since the decoder is told `c`, the latent code is free to hold the
    rest (for digits: the style, slant and thickness), and generation
    takes a chosen condition: `sample(16, condition=7)` draws sevens.

    Everything else works as for `keras_vae.VAE` (likelihoods, posteriors,
    `beta`, warm-up, `objective="iwae"`, `log_likelihood`, saving and
    presets), with the condition passed alongside the data:
    `fit((x, c))` or `fit([x, c])`, `log_likelihood(x, condition=c)`,
    `encode(x, condition=c)`, `decode(z, condition=c)`,
    `reconstruct(x, condition=c)`. A data set yields `((x, c),)` batches.

    The encoder takes two inputs, `[x, c]`, and the decoder two,
    `[z, c]`; the usual way is a Functional model that concatenates them
    (see the example). With `num_classes`, the conditions given to the
    model are integer labels, one per example, and the networks receive
    them one-hot: `(batch, num_classes)` floats.

    Args:
        encoder: a Keras layer or model mapping `[x, c]` to features.
        decoder: a Keras layer or model mapping `[z, c]`, `z` of shape
            `(batch, latent_dim)`, to the likelihood's parameters.
        latent_dim: int > 0. Dimension of the latent space.
        num_classes: int > 1 or None. If given, conditions are integer
            labels in `[0, num_classes)`, shape `(n,)` or `(n, 1)`, one-hot
            encoded for the networks; if None (default), conditions are
            float arrays `(n, ...)` passed as they are.
        **kwargs: the arguments of `keras_vae.VAE` (`likelihood`,
            `beta`, `kl_warmup_steps`, `objective`, `num_samples`, `seed`,
            `prior`, `posterior`, ...). A prior that runs the encoder
            (`VampPrior`) is refused: its pseudo-inputs have no condition.

    Call arguments:
        inputs: a list or tuple `[x, c]`: a batch of data and its
            conditions.
        training: bool. Whether the call is a training step.

    Example:

    ```python
    import keras
    import numpy as np
    import keras_vae

    x_in = keras.Input((28, 28, 1))
    c_in = keras.Input((10,))  # One-hot labels.
    h = keras.layers.Concatenate()([keras.layers.Flatten()(x_in), c_in])
    h = keras.layers.Dense(64, activation="relu")(h)
    encoder = keras.Model([x_in, c_in], h)

    z_in = keras.Input((2,))
    c_in = keras.Input((10,))
    h = keras.layers.Concatenate()([z_in, c_in])
    h = keras.layers.Dense(28 * 28)(h)
    decoder = keras.Model([z_in, c_in], keras.layers.Reshape((28, 28, 1))(h))

    cvae = keras_vae.ConditionalVAE(
        encoder, decoder, latent_dim=2, num_classes=10, seed=0
    )
    cvae.compile(optimizer="adam")
    x = (np.random.rand(256, 28, 28, 1) > 0.5).astype("float32")
    labels = np.random.randint(0, 10, size=256)
    cvae.fit((x, labels), epochs=1, batch_size=64, verbose=0)
    sevens = cvae.sample(4, condition=7, seed=0)  # (4, 28, 28, 1)
    log_px = cvae.log_likelihood(x[:8], condition=labels[:8], verbose=0)
    ```
    """

    _targets_error = _TARGETS_ERROR

    def __init__(
        self, encoder, decoder, latent_dim, num_classes=None, **kwargs
    ):
        if num_classes is not None:
            num_classes = _validation.positive_int("num_classes", num_classes)
            if num_classes < 2:
                raise ValueError(
                    "`num_classes` must be an integer >= 2 (or None for "
                    f"float conditions). Received: num_classes={num_classes}"
                )
        self.num_classes = num_classes
        super().__init__(encoder, decoder, latent_dim, **kwargs)
        if self.prior.requires_encoder:
            raise ValueError(
                f"`ConditionalVAE` cannot use the prior {self.prior.name!r}: "
                "it runs the encoder on learned pseudo-inputs, which have no "
                "condition. Use a prior of its own weights, such as "
                "`priors.MixtureOfGaussians`, or the standard normal."
            )

    @classmethod
    def mlp(
        cls,
        data_shape,
        latent_dim,
        num_classes=None,
        condition_shape=None,
        hidden_units=(256,),
        activation="relu",
        **kwargs,
    ):
        """A `ConditionalVAE` with MLP networks that concatenate `c`.

        The encoder flattens `x`, concatenates the (one-hot or flattened)
        condition and applies `hidden_units` Dense layers; the decoder
        concatenates `z` and the condition, applies the same layers in
        reverse order, and outputs the likelihood's parameters.

        Args:
            data_shape: tuple. The shape of one example, e.g. `(28, 28, 1)`.
            latent_dim: int > 0. Dimension of the latent space.
            num_classes: int > 1 or None. For integer labels (see the
                class); else give `condition_shape`.
            condition_shape: tuple or None. The shape of one float
                condition, when `num_classes` is None.
            hidden_units: tuple of ints. The encoder's Dense widths,
                default `(256,)`.
            activation: str. Their activation, default `"relu"`.
            **kwargs: further arguments of `ConditionalVAE` (`likelihood`,
                `seed`, `beta`, ...).

        Returns:
            A `ConditionalVAE`.

        Example:

        ```python
        import numpy as np
        import keras_vae

        cvae = keras_vae.ConditionalVAE.mlp(
            (28, 28, 1), latent_dim=8, num_classes=10, seed=0
        )
        cvae.compile(optimizer="adam")
        x = (np.random.rand(64, 28, 28, 1) > 0.5).astype("float32")
        cvae.fit((x, np.arange(64) % 10), epochs=1, verbose=0)
        ```
        """
        from keras_vae import likelihoods

        if (num_classes is None) == (condition_shape is None):
            raise ValueError(
                "Give one of `num_classes` (integer labels) and "
                "`condition_shape` (float conditions). Received: "
                f"num_classes={num_classes}, "
                f"condition_shape={condition_shape}"
            )
        if num_classes is not None:
            condition_shape = (num_classes,)
        data_shape = tuple(data_shape)
        condition_shape = tuple(condition_shape)
        likelihood = likelihoods.get(kwargs.get("likelihood", "bernoulli"))
        params_shape = likelihood.params_shape(data_shape)
        layers = keras.layers

        def flat(tensor, shape):
            return layers.Flatten()(tensor) if len(shape) > 1 else tensor

        x_in = layers.Input(data_shape, name="x")
        c_in = layers.Input(condition_shape, name="condition")
        h = layers.Concatenate()(
            [flat(x_in, data_shape), flat(c_in, condition_shape)]
        )
        for units in hidden_units:
            h = layers.Dense(units, activation=activation)(h)
        encoder = keras.Model([x_in, c_in], h, name="encoder")
        z_in = layers.Input((latent_dim,), name="z")
        c_in = layers.Input(condition_shape, name="condition")
        h = layers.Concatenate()([z_in, flat(c_in, condition_shape)])
        for units in reversed(tuple(hidden_units)):
            h = layers.Dense(units, activation=activation)(h)
        h = layers.Dense(int(np.prod(params_shape)))(h)
        decoder = keras.Model(
            [z_in, c_in], layers.Reshape(params_shape)(h), name="decoder"
        )
        return cls(
            encoder,
            decoder,
            latent_dim=latent_dim,
            num_classes=num_classes,
            **kwargs,
        )

    # ------------------------------------------------------------------
    # The condition inside the model.

    def _split_inputs(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            described = (
                f"a {type(inputs).__name__} of {len(inputs)} elements"
                if isinstance(inputs, (list, tuple, dict))
                else f"one {type(inputs).__name__}"
            )
            raise ValueError(_needs_condition(described))
        x, condition = inputs
        return x, self._network_condition(condition)

    def _network_condition(self, condition):
        """The condition as the networks take it: one-hot for labels."""
        if self.num_classes is None:
            return condition
        # A comparison, not `ops.one_hot`: torch cannot trace that one
        # symbolically (Keras then warns). `arange` with its start: ONNX
        # export on JAX (jax2onnx) takes no `stop=None`.
        labels = ops.reshape(ops.cast(condition, "int32"), (-1, 1))
        classes = ops.expand_dims(
            ops.arange(0, self.num_classes, dtype="int32"), 0
        )
        return ops.cast(ops.equal(labels, classes), self.compute_dtype)

    def _features(self, x, condition=None, training=None):
        return self.encoder(_tensors(x, condition), training=training)

    def _decoder_output(self, z, condition=None, training=None):
        return self.decoder(_tensors(z, condition), training=training)

    def _encoder_input_shape(self):
        shapes = getattr(self.encoder, "input_shape", None)
        if isinstance(shapes, list) and len(shapes) == 2:
            return self._shape_or_none(shapes[0])
        return None

    def _condition_shape(self):
        """The shape of one condition as given to the model (no batch)."""
        if self.num_classes is not None:
            return ()
        shapes = getattr(self.decoder, "input_shape", None)
        if isinstance(shapes, list) and len(shapes) == 2:
            shape = self._shape_or_none(shapes[1])
            if shape is not None:
                return tuple(shape[1:])
        return None

    def _dummy_inputs(self, data_shape, symbolic=False):
        shape = (1,) + tuple(self._condition_shape() or ())
        dtype = "int32" if self.num_classes else "float32"
        if symbolic:
            condition = keras.KerasTensor(shape, dtype=dtype)
        else:
            condition = np.zeros(shape, dtype)
        return [super()._dummy_inputs(data_shape, symbolic), condition]

    # ------------------------------------------------------------------
    # Checks of the data and the conditions.

    def _check_data(self, name, data):
        if isinstance(data, (list, tuple)) and len(data) == 2:
            x, condition = data
            super()._check_data(name, x)
            self._as_condition(condition, len(x), f"{name}[1]")
            return
        if isinstance(data, (list, tuple)):
            raise ValueError(
                f"`{name}` must be a pair `(x, condition)`. Received a "
                f"{type(data).__name__} of {len(data)} elements."
            )
        if isinstance(data, np.ndarray):
            raise ValueError(
                _needs_condition(
                    f"`{name}` alone, an array of shape {data.shape}"
                )
            )

    def _as_condition(self, condition, n, name="condition"):
        """`condition` as a numpy array of `n` conditions, checked; one
        condition (a label, or one row) is repeated `n` times."""
        if condition is None:
            raise ValueError(
                f"`{name}` is required: a `ConditionalVAE` generates and "
                "scores data given a condition."
            )
        c = np.asarray(ops.convert_to_numpy(condition))
        if self.num_classes is not None:
            if c.ndim == 2 and c.shape[1] == 1:
                c = c[:, 0]
            if c.ndim == 0:
                c = np.full((n,), c)
            if (
                c.ndim != 1
                or c.dtype.kind not in "iuf"
                or (c.dtype.kind == "f" and np.any(c != np.round(c)))
                or np.any(c < 0)
                or np.any(c >= self.num_classes)
            ):
                raise ValueError(
                    f"`{name}` must hold integer labels in [0, "
                    f"{self.num_classes}), one per example (shape (n,) or "
                    f"(n, 1)). Received an array of shape {c.shape}, dtype "
                    f"{c.dtype}"
                    + (
                        f", values in [{c.min()}, {c.max()}]"
                        if c.size and c.dtype.kind in "iuf"
                        else ""
                    )
                    + "."
                )
            c = c.astype("int32")
        else:
            check_data(name, c)
            expected = self._condition_shape()
            if expected is not None and c.shape == expected:
                c = np.broadcast_to(c, (n,) + expected)
            if expected is not None and c.shape[1:] != expected:
                raise ValueError(
                    f"`{name}` must have shape (n,) + {expected}, as the "
                    f"decoder's condition input. Received shape {c.shape}."
                )
            c = c.astype("float32")
        if len(c) != n:
            raise ValueError(
                f"`{name}` must hold one condition per example: {n} "
                f"examples, but {len(c)} conditions."
            )
        return c

    def _as_inputs(self, inputs):
        if not isinstance(inputs, (tuple, list)) or len(inputs) != 2:
            raise ValueError(_needs_condition(f"{type(inputs).__name__}"))
        return self._as_pair(*inputs)

    def _labelled(self, x, labels):
        if self.num_classes is None:
            raise ValueError(
                "This `ConditionalVAE` takes float conditions "
                f"{self._condition_shape()}, which a data set's class "
                "labels cannot stand for: call its methods with your own "
                "conditions (`condition=`)."
            )
        return (x, labels)

    def _as_pair(self, x, condition):
        x = self._as_data(x)
        return x, self._as_condition(condition, len(x))

    # ------------------------------------------------------------------
    # Keras model API.

    def fit(self, x=None, y=None, *args, **kwargs):
        """Trains the model on `(x, condition)` pairs, as `VAE.fit`.

        Args:
            x: a pair `(x, condition)` or `[x, condition]` of arrays, or a
                `tf.data.Dataset` or generator of `((x, condition),)`
                batches.
            y: must be None.
            *args: further positional arguments of `keras.Model.fit`.
            **kwargs: keyword arguments of `keras.Model.fit`;
                `validation_data` may be a pair of arrays
                `(x_val, condition_val)`.

        Returns:
            A `keras.callbacks.History`.

        Raises:
            ValueError: the data or conditions are invalid (see
                `VAE.fit`; labels outside `[0, num_classes)`).

        Example:

        ```python
        import numpy as np
        import keras_vae

        cvae = keras_vae.ConditionalVAE.mlp((6,), latent_dim=2, num_classes=3)
        x = (np.random.rand(8, 6) > 0.5).astype("float32")
        labels = np.arange(8) % 3
        cvae.compile(optimizer="adam")
        history = cvae.fit((x, labels), epochs=2, verbose=0)
        ```
        """
        if isinstance(x, list):
            x = tuple(x)
        if isinstance(x, tuple) and len(x) == 2:
            self._check_data("x", x)
            self._check_data_shape(np.shape(x[0]))
        validation = kwargs.get("validation_data")
        if (
            isinstance(validation, (tuple, list))
            and len(validation) == 2
            and all(hasattr(a, "shape") for a in validation)
        ):  # (x_val, c_val): the pair is the inputs, there are no targets.
            kwargs["validation_data"] = (tuple(validation),)
        return super().fit(x, y, *args, **kwargs)

    def _checked_data(self, name, data, checks):
        # `x` of `evaluate` and `predict`: the pair; `validation_data`:
        # `((x, c),)` (as `fit` passes it on), the pair as inputs.
        if name == "x" and isinstance(data, (tuple, list)) and len(data) == 2:
            self._check_data(name, tuple(data))
            return data
        if (
            isinstance(data, tuple)
            and len(data) == 1
            and isinstance(data[0], (tuple, list))
        ):
            self._check_data(name, tuple(data[0]))
            return data
        return super()._checked_data(name, data, checks)

    # ------------------------------------------------------------------
    # The user-facing API: numpy in, numpy out, in batches.

    def encode(self, x, condition=None, batch_size=256):
        """Encodes data into the mean and log-variance of `q(z|x, c)`.

        Args:
            x: array `(n, ...)`, like the training data.
            condition: the conditions of `x`: `(n,)` labels (with
                `num_classes`) or an array `(n, ...)`; one condition is
                used for every example.
            batch_size: int. Examples per forward pass, default 256.

        Returns:
            A tuple `(mean, log_var)` of numpy arrays `(n, latent_dim)`.

        Example:

        ```python
        import numpy as np
        import keras_vae

        cvae = keras_vae.ConditionalVAE.mlp((6,), latent_dim=2, num_classes=3)
        x = (np.random.rand(8, 6) > 0.5).astype("float32")
        labels = np.arange(8) % 3
        mean, log_var = cvae.encode(x, condition=labels)  # (8, 2) each
        ```
        """
        x, c = self._as_pair(x, condition)
        return self._batched(self._encoded, (x, c), batch_size)

    def decode(self, z, condition=None, batch_size=256):
        """Decodes latent vectors given conditions: the mean of `p(x|z, c)`.

        Args:
            z: array `(n, latent_dim)`.
            condition: `(n,)` labels (with `num_classes`) or an array
                `(n, ...)`; one condition is used for every vector.
            batch_size: int. Vectors per forward pass, default 256.

        Returns:
            A float32 numpy array `(n, ...)` shaped like the data.

        Example:

        ```python
        import numpy as np
        import keras_vae

        cvae = keras_vae.ConditionalVAE.mlp((6,), latent_dim=2, num_classes=3)
        x = (np.random.rand(8, 6) > 0.5).astype("float32")
        labels = np.arange(8) % 3
        images = cvae.decode(np.zeros((3, 2)), condition=[0, 1, 2])
        ```
        """
        n = len(np.asarray(ops.convert_to_numpy(z)))
        return self._decode(z, self._as_condition(condition, n), batch_size)

    def reconstruct(self, x, condition=None, sample=False, batch_size=256):
        """Encodes and decodes data given its conditions.

        Args:
            x: array `(n, ...)`, like the training data.
            condition: the conditions of `x` (see `encode`).
            sample: bool. Decode a sample of `q(z|x, c)` instead of its
                mean, default False.
            batch_size: int. Examples per forward pass, default 256.

        Returns:
            A float32 numpy array shaped like `x`.

        Example:

        ```python
        import numpy as np
        import keras_vae

        cvae = keras_vae.ConditionalVAE.mlp((6,), latent_dim=2, num_classes=3)
        x = (np.random.rand(8, 6) > 0.5).astype("float32")
        labels = np.arange(8) % 3
        again = cvae.reconstruct(x, condition=labels)  # (8, 6)
        ```
        """
        x, c = self._as_pair(x, condition)
        return self._reconstruct(x, c, sample, batch_size)

    def sample(self, num_samples, condition=None, seed=None, batch_size=256):
        """Generates data given conditions: decodes prior draws with `c`.

        Args:
            num_samples: int > 0. How many examples to generate.
            condition: `(num_samples,)` labels or an array
                `(num_samples, ...)`, or one condition for all (e.g.
                `condition=7`). None, with `num_classes`, cycles through
                the classes (0, 1, ..., 0, 1, ...).
            seed: int in [0, 2**32), `keras.random.SeedGenerator` or None,
                as for `VAE.sample`.
            batch_size: int. Examples per forward pass, default 256.

        Returns:
            A float32 numpy array `(num_samples, ...)`.

        Example:

        ```python
        import numpy as np
        import keras_vae

        cvae = keras_vae.ConditionalVAE.mlp((6,), latent_dim=2, num_classes=3)
        x = (np.random.rand(8, 6) > 0.5).astype("float32")
        labels = np.arange(8) % 3
        twos = cvae.sample(4, condition=2, seed=0)  # (4, 6)
        ```
        """
        num_samples = _validation.positive_int("num_samples", num_samples)
        if condition is None and self.num_classes is not None:
            condition = np.arange(num_samples) % self.num_classes
        c = self._as_condition(condition, num_samples)
        return self._sample(num_samples, seed, batch_size, condition=c)

    def _preview(self, num_samples):
        return self.sample(
            num_samples,
            condition=self._reference_condition(num_samples),
            seed=0,
        )

    def _reference_condition(self, n):
        """Fixed conditions for a preset's reference outputs: the classes
        in turn, or standard normal draws (numpy seed 1)."""
        if self.num_classes is not None:
            return (np.arange(n) % self.num_classes).astype("int32")
        shape = self._condition_shape()
        if shape is None:
            raise ValueError(
                "The shape of the conditions is unknown: make the decoder a "
                "model with two inputs, `[z, c]`, of known shapes."
            )
        rng = np.random.default_rng(1)
        return rng.standard_normal((n,) + shape).astype("float32")

    def log_likelihood(
        self,
        x,
        condition=None,
        num_samples=1000,
        batch_size=100,
        samples_per_step=None,
        seed=None,
        verbose="auto",
        progress_path=None,
    ):
        """Importance-weighted estimate of `log p(x|c)`, per example.

        As `VAE.log_likelihood`, given the conditions.

        Args:
            x: array `(n, ...)`, like the training data.
            condition: the conditions of `x` (see `encode`).
            num_samples: int > 0. Importance samples per example.
            batch_size: int > 0. Examples per step, default 100.
            samples_per_step: int or None. Samples per example per step.
            seed: int in [0, 2**32) or None. Seed of the samples.
            verbose: `"auto"`, 0 or 1: a progress bar.
            progress_path: str or None. A file to resume a long estimate
                from (see `VAE.log_likelihood`).

        Returns:
            A float64 numpy array `(n,)`: the estimates of `log p(x|c)`.

        Example:

        ```python
        import numpy as np
        import keras_vae

        cvae = keras_vae.ConditionalVAE.mlp((6,), latent_dim=2, num_classes=3)
        x = (np.random.rand(8, 6) > 0.5).astype("float32")
        labels = np.arange(8) % 3
        log_px = cvae.log_likelihood(x, condition=labels, verbose=0)
        ```
        """
        weights_model = self._importance_weights(
            num_samples, batch_size, samples_per_step, seed
        )
        return weights_model.log_likelihood(
            self._as_pair(x, condition),
            num_samples,
            batch_size=batch_size,
            verbose=verbose,
            progress_path=progress_path,
        )

    def score(
        self,
        x,
        condition=None,
        kind="log_likelihood",
        num_samples=100,
        batch_size=100,
        seed=None,
        verbose="auto",
    ):
        """One score per example given its condition (see `VAE.score`).

        Args:
            x: array `(n, ...)`, like the training data.
            condition: the conditions of `x` (see `encode`).
            kind: str. `"log_likelihood"` (`log p(x|c)`, default) or
                `"elbo"`.
            num_samples: int > 0. Draws per example, default 100.
            batch_size: int > 0. Examples per step, default 100.
            seed: int in [0, 2**32) or None. Seed of the draws.
            verbose: `"auto"`, 0 or 1: a progress bar.

        Returns:
            A float32 numpy array `(n,)`.

        Example:

        ```python
        import numpy as np
        import keras_vae

        cvae = keras_vae.ConditionalVAE.mlp((6,), latent_dim=2, num_classes=3)
        x = (np.random.rand(8, 6) > 0.5).astype("float32")
        scores = cvae.score(x, condition=np.arange(8) % 3, verbose=0)
        ```
        """
        return self._score(
            (x, condition), kind, num_samples, batch_size, seed, verbose
        )

    def interpolate(
        self, a, b, condition=None, steps=8, method="slerp", batch_size=256
    ):
        """A decoded path between two examples or latents, given one
        condition (both ends are encoded with it, every point decoded
        with it). See `VAE.interpolate`.

        Args:
            a: array, one example or one latent vector.
            b: array, of the same kind as `a`.
            condition: one condition (a label, or one float condition).
            steps: int >= 2. Points on the path, default 8.
            method: str. `"slerp"` (default) or `"linear"`.
            batch_size: int. Vectors per forward pass, default 256.

        Returns:
            A float32 numpy array `(steps, ...)`.

        Example:

        ```python
        import numpy as np
        import keras_vae

        cvae = keras_vae.ConditionalVAE.mlp((6,), latent_dim=2, num_classes=3)
        path = cvae.interpolate(np.zeros(2), np.ones(2), condition=1)
        ```
        """
        return self._interpolate(
            a, b, steps, method, batch_size, self._as_condition(condition, 1)
        )

    def traverse(
        self, x_or_z, dim, condition=None, values=None, batch_size=256
    ):
        """One code swept along latent dimension(s), given one condition.
        See `VAE.traverse`.

        Args:
            x_or_z: array, one example or one latent vector.
            dim: int or list of ints, in `[0, latent_dim)`.
            condition: one condition (a label, or one float condition).
            values: 1-d array or None, default `linspace(-3, 3, 7)`.
            batch_size: int. Vectors per forward pass, default 256.

        Returns:
            A float32 numpy array `(len(values), ...)`, or
            `(len(dim), len(values), ...)` for a list of dimensions.

        Example:

        ```python
        import numpy as np
        import keras_vae

        cvae = keras_vae.ConditionalVAE.mlp((6,), latent_dim=2, num_classes=3)
        sweep = cvae.traverse(np.zeros(2), dim=0, condition=2)  # (7, 6)
        ```
        """
        return self._traverse(
            x_or_z, dim, values, batch_size, self._as_condition(condition, 1)
        )

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


def _needs_condition(received):
    return (
        "`ConditionalVAE` takes its inputs as a pair `[x, condition]`: "
        "pass `(x, condition)`; a data set yields `((x, condition),)` "
        "batches (map a `tf.data.Dataset` of `(x, c)` pairs with "
        f"`dataset.map(lambda x, c: ((x, c),))`). Received {received}."
    )


def _tensors(*values):
    """`values` as a list of tensors (Keras refuses a list that mixes
    numpy arrays, as the numpy API's batches are, with tensors)."""
    return [
        v
        if isinstance(v, keras.KerasTensor) or ops.is_tensor(v)
        else ops.convert_to_tensor(v)
        for v in values
    ]
