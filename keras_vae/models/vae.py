import math

import keras
import numpy as np
from keras import ops

from keras_vae import _validation
from keras_vae import distributions
from keras_vae import likelihoods
from keras_vae import objectives
from keras_vae import posteriors
from keras_vae import priors
from keras_vae._seed_state import SeedStateMixin
from keras_vae._warmup import KLWarmupMixin
from keras_vae.callbacks.nan_guard import BatchChecks
from keras_vae.callbacks.nan_guard import NaNGuard
from keras_vae.callbacks.nan_guard import check_data
from keras_vae.layers.reparam_sampling import ReparamSampling
from keras_vae.layers.reparam_sampling import _seed_generator

_TARGETS_ERROR = (
    "`VAE` trains on the data alone (`x`): the model reconstructs its own "
    "inputs. It received targets `y` (as an argument, or as the second "
    "element of each batch of a data set: map `(x, y)` batches to `x`) "
    "and `compile()` was given no `loss` to use them with. Drop them, "
    "e.g. `vae.fit(x)`."
)
_SAMPLE_WEIGHT_ERROR = (
    "`VAE` does not support `sample_weight`: its loss is the negative ELBO "
    "averaged over the batch. Received: sample_weight={}"
)


@keras.saving.register_keras_serializable(package="keras_vae")
class VAE(SeedStateMixin, KLWarmupMixin, keras.Model):
    """A variational autoencoder built from any Keras encoder and decoder.

    The model chains `encoder -> posterior -> decoder -> likelihood`: the
    encoder's features become a distribution `q(z|x)` over the latent
    space (by default a diagonal Gaussian), a sample `z` of it is decoded
    into the parameters of the likelihood `p(x|z)`, and training maximizes
    the evidence lower bound

        ELBO(x) = E_q[log p(x|z)] - KL(q(z|x) || p(z))

    with the prior `p(z)` (by default N(0, I)). The KL term is the closed
    form where the pair of distributions has one (a Gaussian posterior and
    the standard normal prior), else the Monte Carlo estimate
    `log q(z|x) - log p(z)` on the same draws (a flow posterior, a mixture
    or VampPrior prior).

    or, with `objective="iwae"`, the tighter importance-weighted bound of
    Burda et al. (2015) with `num_samples` samples. The loss is the
    negative bound, in nats per example, averaged over the batch: the
    reconstruction term sums over every value of an example (pixels), it
    is never a mean over pixels, so the numbers compare directly with the
    literature.

    Both terms are added with `add_loss` inside `call()`, so the model
    trains with `compile(optimizer=...)` and no `loss` argument, on every
    backend. `fit` shows and records `loss`, `reconstruction` (the
    negative log-likelihood), `kl` (unweighted) and `elbo`, and their
    `val_` twins.

    Likelihoods (`likelihood`, anything `keras_vae.likelihoods.get`
    takes):

    - `"bernoulli"`: the decoder outputs logits, one per value; for data in
      `[0, 1]`, ideally binarized (the standard for MNIST likelihoods).
    - `"gaussian"`: the decoder outputs the mean; fixed variance
      `gaussian_variance`.
    - `"gaussian_learned"`: the decoder outputs the mean; one variance per
      output value is learned (a trainable weight of the model).
    - any `keras_vae.likelihoods.Likelihood`, e.g.
      `likelihoods.Gaussian(variance="predicted")`,
      `likelihoods.Categorical(256)` or
      `likelihoods.DiscretizedLogisticMixture()` for 8-bit data,
      `likelihoods.Poisson()` for counts; the decoder must output
      `likelihood.params_shape(data_shape)` per example.

    KL weighting: the KL term is multiplied by `beta` (a beta-VAE when
    `beta != 1`); with `kl_warmup_steps > 0` the weight grows linearly from
    0 to `beta` over that many training steps. The step count is a
    variable, so it is saved and restored with the model, and it advances
    inside compiled training steps on every backend.

    Args:
        encoder: a Keras layer or model mapping a batch of data to features
            of any shape.
        decoder: a Keras layer or model mapping `(batch, latent_dim)` latent
            vectors to the likelihood's parameters, shaped like the data.
        latent_dim: int > 0. Dimension of the latent space.
        likelihood: str, config dict or `keras_vae.likelihoods.Likelihood`.
            Default `"bernoulli"`; see above.
        gaussian_variance: float > 0. Variance of the `"gaussian"`
            likelihood, default 1.0.
        beta: float >= 0. Weight of the KL term, default 1.0.
        kl_warmup_steps: int >= 0. Training steps for the KL weight to grow
            from 0 to `beta`, default 0 (no warm-up).
        objective: str, config dict or `keras_vae.objectives.Objective`.
            `"elbo"` (default), `"iwae"` (the importance-weighted bound
            with `num_samples` draws), `"beta_tcvae"` (the ELBO with its
            total correlation weighted, Chen et al. 2018: metric
            `total_correlation`) or `"mmd"` (InfoVAE, Zhao et al. 2017:
            metric `mmd`); objects set their parameters, e.g.
            `objectives.BetaTCVAE(tc_weight=6.0, dataset_size=60000)`.
        num_samples: int > 0. Latent samples per example in training; the
            ELBO averages over them, the IWAE bound log-mean-exps them.
            Default 1.
        parameterization: str. Variance parameterization of the default
            posterior, `"log_var"` (default) or `"softplus"`.
        seed: int in [0, 2**32) or None. Seed of the sampling noise (and,
            plus one, of `sample`'s prior draws); None draws a random one.
        prior: None (the standard normal), `"standard_normal"`, a config
            dict or a `keras_vae.priors.Prior` (e.g.
            `priors.MixtureOfGaussians(10)`, `priors.VampPrior(500)`),
            over `latent_dim` dimensions.
        posterior: None (a `keras_vae.posteriors.DiagonalGaussian` with
            `parameterization`), a config dict or a
            `keras_vae.posteriors.Posterior` over `latent_dim` dimensions
            (e.g. `posteriors.InverseAutoregressiveFlow(latent_dim)`).
        **kwargs: base model arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: a batch of data, shaped like the encoder's input.
        training: bool. Whether the call is a training step.

    Returns (from `call`):
        The decoder's output: logits (Bernoulli) or means (Gaussian), shaped
        like `inputs`, or `(batch, num_samples, ...)` if `num_samples > 1`.
        Use `reconstruct`, `decode` and `sample` for images.

    Example:

    ```python
    import keras
    import numpy as np
    import keras_vae

    encoder = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(),
         keras.layers.Dense(64, activation="relu")]
    )
    decoder = keras.Sequential(
        [keras.Input((2,)), keras.layers.Dense(28 * 28),
         keras.layers.Reshape((28, 28, 1))]
    )
    vae = keras_vae.VAE(encoder, decoder, latent_dim=2, seed=0)
    vae.compile(optimizer="adam")
    x = (np.random.rand(256, 28, 28, 1) > 0.5).astype("float32")
    history = vae.fit(x, epochs=1, batch_size=64, verbose=0)
    print(sorted(history.history))  # ['elbo', 'kl', 'loss', 'reconstruction']
    images = vae.sample(4, seed=1)  # (4, 28, 28, 1) probabilities
    ```
    """

    _targets_error = _TARGETS_ERROR

    def __init__(
        self,
        encoder,
        decoder,
        latent_dim,
        likelihood="bernoulli",
        gaussian_variance=1.0,
        beta=1.0,
        kl_warmup_steps=0,
        objective="elbo",
        num_samples=1,
        parameterization="log_var",
        seed=None,
        prior=None,
        posterior=None,
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
        self.latent_dim = _validation.positive_int("latent_dim", latent_dim)
        self.gaussian_variance = _validation.positive_float(
            "gaussian_variance", gaussian_variance
        )
        self.beta = _validation.non_negative_float("beta", beta)
        self.kl_warmup_steps = _validation.non_negative_int(
            "kl_warmup_steps", kl_warmup_steps
        )
        # The name for the built-in objectives with their defaults (as in
        # the configs of earlier versions), else the serialized object.
        self._objective = objectives.get(objective)
        self.objective = objectives.serialize(self._objective)
        self.num_samples = _validation.positive_int("num_samples", num_samples)
        self.parameterization = parameterization
        self.seed = _validation.seed("seed", seed)

        # === Layers ===
        self.encoder = encoder
        self.decoder = decoder
        if likelihood == "gaussian" and self.gaussian_variance != 1.0:
            likelihood = likelihoods.Gaussian(variance=self.gaussian_variance)
        self.likelihood = likelihoods.get(likelihood)
        # The posterior keeps the attribute name of the encoder head it
        # replaces: the weights of saved models and presets sit there.
        self._default_posterior = posterior is None
        if posterior is None:
            posterior = posteriors.DiagonalGaussian(
                latent_dim,
                parameterization=parameterization,
                dtype=self.dtype_policy,
                name="encoder_head",
            )
        self.encoder_head = posteriors.get(posterior, latent_dim=latent_dim)
        posterior_dim = getattr(self.encoder_head, "latent_dim", None)
        if posterior_dim != self.latent_dim:
            raise ValueError(
                f"The posterior {self.encoder_head.name!r} is over "
                f"{posterior_dim} latent dimensions, but "
                f"latent_dim={self.latent_dim}. Make the posterior with "
                f"latent_dim={self.latent_dim}."
            )
        self.prior = priors.get(prior)
        shape = self._encoder_input_shape()
        self.prior.setup(self.latent_dim, shape[1:] if shape else None)
        if shape and None not in shape[1:]:
            self.likelihood.setup(shape[1:])
        # The source of the posterior's noise (its seed generator; its
        # own KL is off: the model adds the KL itself, below).
        self.sampler = ReparamSampling(
            num_samples=num_samples,
            kl_weight=0.0,
            seed=seed,
            dtype=self.dtype_policy,
            name="sampler",
        )
        self.sampler.build([(None, latent_dim), (None, latent_dim)])
        # `% 2**32` keeps seed 2**32 - 1 valid (and every other stream).
        self.prior_seed_generator = _seed_generator(
            None if self.seed is None else (self.seed + 1) % 2**32
        )

        # === State and metrics ===
        self._add_kl_step()
        # One metric for every term (reported as `reconstruction`, `kl`,
        # `elbo` and the objective's own): a step updates two variables,
        # not two per term (on torch, which runs eagerly, each costs).
        self.terms_tracker = _MeansOfTerms(
            ("reconstruction", "kl") + tuple(self._extra_metrics()),
            name="terms",
        )
        self._step_terms = None

    def _extra_metrics(self):
        """The names of the metrics beside `reconstruction`, `kl` and
        `elbo`, in the order of `_step_terms`' third element."""
        return self._objective.metrics

    @property
    def posterior(self):
        """The posterior layer `q(z|x)`, a `keras_vae.posteriors.Posterior`."""
        return self.encoder_head

    # ------------------------------------------------------------------
    # Building blocks shared by training and evaluation.

    def _encoder_input_shape(self):
        return self._shape_or_none(getattr(self.encoder, "input_shape", None))

    @staticmethod
    def _shape_or_none(shape):
        """`shape` if it is one tensor's shape (a tuple of ints or None)."""
        if isinstance(shape, tuple) and all(
            d is None or isinstance(d, int) for d in shape
        ):
            return shape
        return None

    def _check_single_input(self, name, value):
        if isinstance(value, (list, tuple, dict)):
            raise ValueError(
                f"`VAE` takes its data as one array or tensor, `{name}`. "
                f"Received a {type(value).__name__} of {len(value)} "
                "elements; if these are (images, labels), pass the images "
                "only."
            )

    def _check_data_shape(self, shape):
        check_data_shape(self._encoder_input_shape(), shape)

    def _split_inputs(self, inputs):
        """`(x, condition)` of a call's inputs; a `VAE` has no condition."""
        self._check_single_input("inputs", inputs)
        return inputs, None

    def _network_condition(self, condition):
        """A batch of conditions as the networks take them (a
        `ConditionalVAE` one-hot encodes labels); a `VAE` has none."""
        return condition

    def _features(self, x, condition=None, training=None):
        """The encoder's output for `x` (a `ConditionalVAE` adds `c`)."""
        return self.encoder(x, training=training)

    def _decoder_output(self, z, condition=None, training=None):
        """The decoder's output for `z` (B, L) (a `ConditionalVAE` adds
        the condition `c` (B, ...))."""
        return self.decoder(z, training=training)

    def _posterior(self, x, training=None, condition=None):
        """`q(z|x)`, a distribution with batch shape `(B,)`."""
        return self.encoder_head(self._features(x, condition, training))

    def _gaussian(self, x, training=None, condition=None):
        """The Gaussian part of `q(z|x)`, a `distributions.Normal`."""
        return self.encoder_head.gaussian(
            self._features(x, condition, training)
        )

    def _prior(self, training=None):
        """`p(z)`, a distribution over `(latent_dim,)` vectors."""
        encode = None
        if self.prior.requires_encoder:

            def encode(u):
                return self._gaussian(u, training=training)

        return self.prior.distribution(encode)

    def _decode_params(self, z, training=None, condition=None):
        """Decoder output for `z` of shape (B, L) or (k, B, L) (and the
        condition (B, ...), the same for the k draws of an example)."""
        if len(z.shape) == 2:
            return self._decoder_output(z, condition, training=training)
        k, batch = z.shape[0], ops.shape(z)[1]
        if condition is not None and k != 1:  # (k * B, ...), as the draws.
            condition = ops.reshape(
                ops.repeat(ops.expand_dims(condition, 0), k, axis=0),
                (-1,) + tuple(condition.shape[1:]),
            )
        params = self._decoder_output(
            ops.reshape(z, (-1, self.latent_dim)), condition, training
        )
        return ops.reshape(params, (k, batch) + tuple(params.shape[1:]))

    def _likelihood(self, x, params):
        """`p(x|z)` for the decoder's `params` (k, B, ...) of data `x`."""
        if not self.likelihood.built:
            self.likelihood.setup(x.shape[1:])
        self.likelihood.check_params(params.shape[2:], x.shape[1:])
        # Its `distribution`, not its `__call__`: the likelihood is built,
        # and a layer call costs a training step ~0.2 ms on eager torch.
        return self.likelihood.distribution(params, len(x.shape) - 1)

    def _terms(
        self,
        x,
        num_samples,
        seed,
        training=None,
        log_weights=False,
        condition=None,
    ):
        """The pieces of the bounds for `num_samples` draws `z ~ q(z|x)`.

        Returns a dict: `params` (k, B, ...), `log_px` (k, B), `kl` (B,)
        (the closed form where the pair has one, else the Monte Carlo
        estimate on these draws), and with `log_weights`, `log_pz` and
        `log_qz` (k, B).
        """
        q = self._posterior(x, training=training, condition=condition)
        p = self._prior(training=training)
        exact = distributions.has_closed_form(q, p)
        terms = {"q": q, "p": p}
        if exact and not log_weights:
            z = q.sample(seed=seed, sample_shape=(num_samples,))
        else:
            z, terms["log_qz"] = q.sample_and_log_prob(
                seed=seed, sample_shape=(num_samples,)
            )
            terms["log_pz"] = p.log_prob(z)
        terms["z"] = z
        params = self._decode_params(z, training=training, condition=condition)
        terms["params"] = params
        terms["log_px"] = self._likelihood(x, params).log_prob(x)
        if exact:
            terms["kl"] = distributions.kl_divergence(q, p)
        else:
            terms["kl"] = ops.mean(terms["log_qz"] - terms["log_pz"], axis=0)
        return terms

    def current_kl_weight(self):
        """The KL weight in force now: `beta` times the warm-up ramp.

        Returns:
            A float32 scalar tensor.

        Example:

        ```python
        import keras
        import keras_vae

        encoder = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8)])
        decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(6)])
        vae = keras_vae.VAE(
            encoder, decoder, latent_dim=2, beta=0.5, kl_warmup_steps=100
        )
        weight = float(vae.current_kl_weight())  # 0.0: no step taken yet
        ```
        """
        return self._warmed_up(self.beta)

    # ------------------------------------------------------------------
    # Keras model API.

    def call(self, inputs, training=None):
        x, condition = self._split_inputs(inputs)
        self._check_data_shape(x.shape)
        terms = self._terms(
            x,
            self.num_samples,
            self.sampler.seed_generator,
            training=training,
            log_weights=self._objective.log_weights,
            condition=condition,
        )
        kl_weight = self.current_kl_weight()
        self._advance_kl_step(training)
        losses, extra = self._objective.losses(
            terms, kl_weight, self.sampler.seed_generator
        )
        for loss in losses:
            self.add_loss(loss)
        # Read back by `compute_loss`, in the same step, for the metrics.
        self._step_terms = (
            -ops.mean(terms["log_px"]),
            ops.mean(terms["kl"]),
            [extra[name] for name in self._objective.metrics],
        )
        params = terms["params"]
        if self.num_samples == 1:
            return params[0]
        return ops.moveaxis(params, 0, 1)  # (B, k, ...), the sample axis 1.

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        # Data sets that yield (x, y) or (x, y, w) tuples end up here.
        if sample_weight is not None:
            raise ValueError(_SAMPLE_WEIGHT_ERROR.format(sample_weight))
        if y is not None and self._compile_loss is None:
            raise ValueError(self._targets_error)
        loss = super().compute_loss(
            x=x, y=y, y_pred=y_pred, sample_weight=sample_weight
        )
        if self._step_terms is not None:
            reconstruction, kl, extra = self._step_terms
            self.terms_tracker.update_state([reconstruction, kl, *extra])
            self._step_terms = None
        return loss

    def fit(self, x=None, y=None, *args, **kwargs):
        """Trains the model, as `keras.Model.fit`, with safety nets.

        The data is checked before it is trained on: every value must be
        finite, and in the support of the likelihood (`[0, 1]` for
        `"bernoulli"`; any finite value for the Gaussian ones). Arrays
        (`x`, `validation_data`, or its first element if it is a tuple)
        are checked up front; the batches of a `tf.data.Dataset` or a
        Python generator are checked as they are drawn, on every backend
        (a refused batch leaves the model's variables, and its
        optimizer's, as they were before the call). Other inputs (a
        `keras.utils.PyDataset`, a torch `DataLoader`) are not checked
        batch by batch.

        With `num_samples > 1`, the memory a training step needs is
        estimated first (from the batch size, or the number of examples
        if there are fewer, `num_samples` and the decoder's activations)
        and compared with the available memory: the memory of this
        machine, as /proc/meminfo reports it (`MemAvailable`; no check
        where it cannot be read); on an accelerator, the backend's own
        limit applies. A `keras_vae.callbacks.NaNGuard` is added to the
        callbacks (unless one is there, or
        `keras.callbacks.TerminateOnNaN`), so that a loss that turns NaN
        stops training with a clear error instead of running on silently.

        Args:
            x: the data (arrays, a `tf.data.Dataset`, a
                `keras.utils.PyDataset`, ...). No `y`: the model
                reconstructs `x`.
            y: must be `None` unless `compile()` was given a `loss`.
            *args: further positional arguments of `keras.Model.fit`.
            **kwargs: keyword arguments of `keras.Model.fit`.

        Returns:
            A `keras.callbacks.History`.

        Raises:
            ValueError: the data holds NaN or inf, or values outside the
                likelihood's support (the message gives the range needed
                and the range found), or a training step with
                `num_samples` samples per example would not fit in memory.

        Example:

        ```python
        import keras
        import numpy as np
        import keras_vae

        encoder = keras.Sequential(
            [keras.Input((6,)), keras.layers.Dense(16, activation="relu")]
        )
        decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(6)])
        vae = keras_vae.VAE(encoder, decoder, latent_dim=2, seed=0)
        x = (np.random.rand(8, 6) > 0.5).astype("float32")
        vae.compile(optimizer="adam")
        history = vae.fit(x, epochs=2, batch_size=4, verbose=0)
        history.history["elbo"]  # one value per epoch, in nats
        ```
        """
        if y is not None and self._compile_loss is None:
            raise ValueError(self._targets_error)
        if kwargs.get("sample_weight") is not None:
            raise ValueError(
                _SAMPLE_WEIGHT_ERROR.format(kwargs["sample_weight"])
            )
        checks = self._batch_checks(check_memory=True)
        self._check_data("x", x)
        if hasattr(x, "shape"):
            self._check_data_shape(x.shape)
            batch_size = args[0] if args else kwargs.get("batch_size")
            # Keras's default batch size for arrays is 32.
            self._check_memory(batch_size or 32, tuple(x.shape))
        x = checks.wrap("x", x)
        if kwargs.get("validation_data") is not None:
            kwargs["validation_data"] = self._checked_data(
                "validation_data", kwargs["validation_data"], checks
            )
        if len(args) < 4:  # `callbacks` was not given positionally.
            callbacks = list(kwargs.pop("callbacks", None) or [])
            guards = (NaNGuard, keras.callbacks.TerminateOnNaN)
            if not any(isinstance(c, guards) for c in callbacks):
                callbacks.append(NaNGuard())
            kwargs["callbacks"] = callbacks
        return self._refusable(
            lambda: super(VAE, self).fit(x, y, *args, **kwargs),
            checks,
            training=True,
        )

    def evaluate(self, x=None, y=None, *args, **kwargs):
        """Evaluates the model, as `keras.Model.evaluate`, on checked data.

        The data is checked as `fit` checks it: arrays up front, the
        batches of a `tf.data.Dataset` or a Python generator as they are
        drawn.

        Args:
            x: the data, as for `fit`.
            y: must be `None` unless `compile()` was given a `loss`.
            *args: further positional arguments of `keras.Model.evaluate`.
            **kwargs: keyword arguments of `keras.Model.evaluate`.

        Returns:
            What `keras.Model.evaluate` returns: the loss and metrics
            (`reconstruction`, `kl`, `elbo`).

        Raises:
            ValueError: the data holds NaN or inf, or values outside the
                likelihood's support.

        Example:

        ```python
        import keras
        import numpy as np
        import keras_vae

        encoder = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8)])
        decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(6)])
        vae = keras_vae.VAE(encoder, decoder, latent_dim=2, seed=0)
        vae.compile(optimizer="adam")
        x = (np.random.rand(8, 6) > 0.5).astype("float32")
        logs = vae.evaluate(x, verbose=0, return_dict=True)
        ```
        """
        if kwargs.get("_use_cached_eval_dataset"):
            # `fit`'s validation, on data that `fit` checked already.
            return super().evaluate(x, y, *args, **kwargs)
        checks = self._batch_checks()
        x = self._checked_data("x", x, checks)
        return self._refusable(
            lambda: super(VAE, self).evaluate(x, y, *args, **kwargs), checks
        )

    def predict(self, x, *args, **kwargs):
        """The decoder's output for data, as `keras.Model.predict`.

        The data is checked as `fit` checks it. For images, prefer
        `reconstruct`: `predict` returns the likelihood's parameters
        (logits, for Bernoulli), with a sample axis if `num_samples > 1`.

        Args:
            x: the data, as for `fit`.
            *args: further positional arguments of `keras.Model.predict`.
            **kwargs: keyword arguments of `keras.Model.predict`.

        Returns:
            A numpy array, as `keras.Model.predict` returns.

        Raises:
            ValueError: the data holds NaN or inf, or values outside the
                likelihood's support.

        Example:

        ```python
        import keras
        import numpy as np
        import keras_vae

        encoder = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8)])
        decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(6)])
        vae = keras_vae.VAE(encoder, decoder, latent_dim=2, seed=0)
        x = (np.random.rand(8, 6) > 0.5).astype("float32")
        logits = vae.predict(x, verbose=0)  # (8, 6)
        ```
        """
        checks = self._batch_checks()
        x = self._checked_data("x", x, checks)
        return self._refusable(
            lambda: super(VAE, self).predict(x, *args, **kwargs), checks
        )

    def __call__(self, *args, **kwargs):
        # Numpy data is checked (cheap, and it is the user's own data);
        # tensors are not: they come from training steps, where a check
        # would cost a device sync, or are symbolic.
        inputs = args[0] if args else kwargs.get("inputs")
        if isinstance(inputs, np.ndarray):
            self._check_data("inputs", inputs)
        return super().__call__(*args, **kwargs)

    # ------------------------------------------------------------------
    # Checks of the data and of the memory a training step needs.

    def _check_data(self, name, data):
        """Refuses array data that is not finite or not in the support."""
        self.likelihood.check_data(name, data)

    def _batch_checks(self, check_memory=False):
        """A `BatchChecks` for this model's data. With `check_memory`, the
        first batch of `x` is also checked against the available memory
        (for data sets and generators, whose batch size is known then)."""
        pending = [check_memory]

        def check(name, batch):
            self._check_data(name, batch)
            if pending[0] and name == "x" and hasattr(batch, "shape"):
                pending[0] = False
                shape = tuple(batch.shape)
                self._check_memory(shape[0], shape)

        return BatchChecks(check)

    def _refusable(self, run, checks, training=False):
        """Runs `run()`, a Keras loop over data that `checks` watches, so
        that a refused batch raises its own ValueError (not the data
        pipeline's error around it) and leaves the model's variables as
        they were before the call. (Keras's JAX trainer holds the values
        apart from the variables while it loops; an error raised by the
        data there would leave the variables empty.)

        The snapshot must hold every variable the loop may change, so the
        model is built first, symbolically, where the encoder's input
        shape is known (else the variables of layers first built by the
        loop, such as the encoder head, would keep what the steps before
        the refusal made of them), and with `training` the optimizer too
        (its slots, such as Adam's moments, exist only once it is built).
        """
        snapshot = None
        if checks.watching:
            import contextlib

            # Where Keras builds: in the model's `tf.distribute` strategy.
            strategy = getattr(self, "distribute_strategy", None)
            scope = strategy.scope() if strategy else contextlib.nullcontext()
            shape = self._encoder_input_shape()
            optimizer = getattr(self, "optimizer", None)

            def built():
                return all(layer.built for layer in self._flatten_layers())

            with scope:
                if not built() and shape and None not in shape[1:]:
                    # The batch size does not matter for the variables.
                    try:
                        self(self._dummy_inputs(shape[1:], symbolic=True))
                    except Exception:  # Keras's own build will report it.
                        pass
                if training and optimizer is not None and built():
                    if not optimizer.built:
                        optimizer.build(self.trainable_variables)
            variables = list(self.variables) + list(self.metrics_variables)
            if optimizer is not None:
                variables += list(optimizer.variables)
            try:
                snapshot = [(v, ops.convert_to_numpy(v)) for v in variables]
            except Exception:  # E.g. values mirrored over devices: none.
                snapshot = None
        try:
            return run()
        except Exception:
            if checks.error is not None and snapshot is not None:
                for variable, value in snapshot:
                    variable.assign(value)
            checks.reraise()
            raise

    def _checked_data(self, name, data, checks):
        """`data` checked now if it is an array (or a tuple of arrays),
        else wrapped to be checked batch by batch."""
        if isinstance(data, (tuple, list)) and data:
            self._check_data(name, data[0])
            return data
        self._check_data(name, data)
        return checks.wrap(name, data)

    def _check_memory(self, batch_size, data_shape):
        """Refuses a `num_samples` whose training step cannot fit in the
        available memory of this machine (the host's, not an
        accelerator's); a no-op for one sample, or where the available
        memory is unknown. A batch holds at most the `data_shape[0]`
        examples there are."""
        if self.num_samples == 1:
            return
        available = _available_memory()
        if available is None:
            return
        examples = data_shape[0] if data_shape else None
        if examples:  # Fewer examples than a batch: one smaller batch.
            batch_size = min(int(batch_size), int(examples))
        per_sample = _activations_per_example(self.decoder)
        if per_sample is None:  # Unknown: the data's size instead.
            per_sample = math.prod(d or 1 for d in data_shape[1:])
        needed = (
            int(batch_size)
            * self.num_samples
            * per_sample
            * 4  # bytes of a float32
            * _GRADIENT_FACTOR
        )
        if needed > available:
            raise ValueError(
                f"`num_samples={self.num_samples}` does not fit in memory: "
                f"with a batch size of {batch_size}, a training step needs "
                f"about {_format_bytes(needed)} (batch {batch_size} x "
                f"num_samples {self.num_samples} x {per_sample} decoder "
                f"values x 4 bytes x {_GRADIENT_FACTOR} for the gradients), "
                f"and this machine has {_format_bytes(available)} of "
                "memory available (MemAvailable in /proc/meminfo: the "
                "host's memory, not an accelerator's). Use a smaller "
                "`num_samples` or `batch_size`."
            )

    # ------------------------------------------------------------------
    # The user-facing API: numpy in, numpy out, in batches.

    def _dummy_inputs(self, data_shape, symbolic=False):
        """Inputs of one example of data of `data_shape` (no batch axis),
        zeros or symbolic, to build the model with."""
        shape = (1,) + tuple(data_shape)
        if symbolic:
            return keras.KerasTensor(shape)
        return np.zeros(shape, "float32")

    def _reference_condition(self, n):
        """Conditions of a preset's reference outputs (a `VAE`: none)."""
        return None

    def _batched(self, fn, inputs, batch_size):
        return batched(fn, inputs, batch_size)

    def _as_inputs(self, inputs):
        """The model's numpy inputs, checked (a `VAE`: the data)."""
        return self._as_data(inputs)

    def _labelled(self, x, labels):
        """The model's inputs for data `x` with a data set's class `labels`
        (a `VAE` needs no labels: `x`)."""
        return x

    def _as_data(self, x):
        """The data alone (a conditional model's too), checked."""
        self._check_single_input("x", x)
        x = np.asarray(ops.convert_to_numpy(x))
        self.likelihood.check_data("x", x)
        x = x.astype("float32", copy=False)
        self._check_data_shape(x.shape)
        return x

    def _mean_of_likelihood(self, params):
        return self.likelihood(params).mean()

    def _encoded(self, x, condition=None):
        condition = self._network_condition(condition)
        q = self._gaussian(x, training=False, condition=condition)
        return q.loc, q.log_var

    def encode(self, x, batch_size=256):
        """Encodes data into the mean and log-variance of `q(z|x)`.

        Args:
            x: array of shape `(n, ...)`, like the training data.
            batch_size: int. Examples per forward pass, default 256.

        Returns:
            A tuple `(mean, log_var)` of numpy arrays `(n, latent_dim)`.

        Raises:
            ValueError: `x` holds NaN or inf, or values outside the
                likelihood's support (`[0, 1]` for Bernoulli).

        Example:

        ```python
        import keras
        import numpy as np
        import keras_vae

        encoder = keras.Sequential(
            [keras.Input((6,)), keras.layers.Dense(16, activation="relu")]
        )
        decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(6)])
        vae = keras_vae.VAE(encoder, decoder, latent_dim=2, seed=0)
        x = (np.random.rand(8, 6) > 0.5).astype("float32")
        mean, log_var = vae.encode(x)  # two (8, 2) arrays
        ```
        """
        return self._batched(self._encoded, self._as_data(x), batch_size)

    def decode(self, z, batch_size=256):
        """Decodes latent vectors into the mean of `p(x|z)`.

        For the Bernoulli likelihood that is the probability of each value
        being 1 (the image); for the Gaussian ones, the mean.

        Args:
            z: array `(n, latent_dim)`.
            batch_size: int. Vectors per forward pass, default 256.

        Returns:
            A float32 numpy array `(n, ...)` shaped like the data.

        Raises:
            ValueError: `z` has the wrong shape or holds NaN or inf.

        Example:

        ```python
        import keras
        import numpy as np
        import keras_vae

        encoder = keras.Sequential(
            [keras.Input((6,)), keras.layers.Dense(16, activation="relu")]
        )
        decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(6)])
        vae = keras_vae.VAE(encoder, decoder, latent_dim=2, seed=0)
        x = (np.random.rand(8, 6) > 0.5).astype("float32")
        images = vae.decode(np.zeros((1, vae.latent_dim)))  # (1, 6)
        ```
        """
        return self._decode(z, None, batch_size)

    def _decode(self, z, condition, batch_size):
        z = np.asarray(ops.convert_to_numpy(z), dtype="float32")
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(
                f"`z` must have shape (n, latent_dim={self.latent_dim}). "
                f"Received: z.shape={z.shape}"
            )
        check_data("z", z)
        return self._batched(
            lambda b, c: self._mean_of_likelihood(
                self._decoder_output(
                    b, self._network_condition(c), training=False
                )
            ),
            (z, condition),
            batch_size,
        )

    def reconstruct(self, x, sample=False, batch_size=256):
        """Encodes and decodes data.

        Args:
            x: array `(n, ...)`, like the training data.
            sample: bool. If False (default), decode the mean of `q(z|x)`
                (deterministic); if True, decode a sample of it.
            batch_size: int. Examples per forward pass, default 256.

        Returns:
            A float32 numpy array shaped like `x`: the mean of `p(x|z)`.

        Raises:
            ValueError: `x` holds NaN or inf, or values outside the
                likelihood's support (`[0, 1]` for Bernoulli).

        Example:

        ```python
        import keras
        import numpy as np
        import keras_vae

        encoder = keras.Sequential(
            [keras.Input((6,)), keras.layers.Dense(16, activation="relu")]
        )
        decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(6)])
        vae = keras_vae.VAE(encoder, decoder, latent_dim=2, seed=0)
        x = (np.random.rand(8, 6) > 0.5).astype("float32")
        reconstructions = vae.reconstruct(x)  # (8, 6) probabilities
        noisy = vae.reconstruct(x, sample=True)  # from a sample of q(z|x)
        ```
        """
        return self._reconstruct(self._as_data(x), None, sample, batch_size)

    def _reconstruct(self, x, condition, sample, batch_size):
        def step(batch, c):
            c = self._network_condition(c)
            if sample:
                q = self._posterior(batch, training=False, condition=c)
                z = q.sample(seed=self.sampler.seed_generator)
            else:
                z = self._gaussian(batch, training=False, condition=c).mean()
            return self._mean_of_likelihood(
                self._decoder_output(z, c, training=False)
            )

        return self._batched(step, (x, condition), batch_size)

    def sample(self, num_samples, seed=None, batch_size=256):
        """Generates new data: decodes draws from the prior N(0, I).

        Args:
            num_samples: int > 0. How many examples to generate.
            seed: int in [0, 2**32), `keras.random.SeedGenerator` or
                None. The same int gives the same examples; None uses the
                model's own generator (fresh examples at every call).
            batch_size: int. Examples per forward pass, default 256.

        Returns:
            A float32 numpy array `(num_samples, ...)`: the mean of
            `p(x|z)` for each draw (probabilities, for Bernoulli).

        Raises:
            ValueError: `num_samples` is not a positive integer, or `seed`
                is not a SeedGenerator, None or an int in [0, 2**32).

        Example:

        ```python
        import keras
        import numpy as np
        import keras_vae

        encoder = keras.Sequential(
            [keras.Input((6,)), keras.layers.Dense(16, activation="relu")]
        )
        decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(6)])
        vae = keras_vae.VAE(encoder, decoder, latent_dim=2, seed=0)
        x = (np.random.rand(8, 6) > 0.5).astype("float32")
        new = vae.sample(16, seed=0)  # (16, 6), the same for seed=0
        ```
        """
        return self._sample(num_samples, seed, batch_size)

    def _sample(self, num_samples, seed, batch_size, condition=None):
        num_samples = _validation.positive_int("num_samples", num_samples)
        if not isinstance(seed, keras.random.SeedGenerator):
            seed = _validation.seed("seed", seed)
        z = self._prior(training=False).sample(
            seed=self.prior_seed_generator if seed is None else seed,
            sample_shape=(num_samples,),
        )
        return self._decode(z, condition, batch_size)

    def _preview(self, num_samples):
        """Samples for a preset's `samples.png`: seed 0."""
        return self.sample(num_samples, seed=0)

    def log_likelihood(
        self,
        x,
        num_samples=1000,
        batch_size=100,
        samples_per_step=None,
        seed=None,
        verbose="auto",
        progress_path=None,
    ):
        """Importance-weighted estimate of `log p(x)`, per example, in nats.

        With `k = num_samples` draws `z_i ~ q(z|x)`,
        `log p(x) ~= log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x)`, the
        log-mean-exp being computed stably. The estimate is a lower bound
        whose expectation increases with `k` towards `log p(x)` (Burda et
        al., 2015); k=5000 is the standard for MNIST test likelihoods. The
        work is batched (`batch_size` examples times `samples_per_step`
        samples per compiled step), so any `k` fits in memory.

        Args:
            x: array `(n, ...)`, like the training data (for MNIST NLLs,
                binarized).
            num_samples: int > 0. Importance samples per example `k`.
            batch_size: int > 0. Examples per step, default 100.
            samples_per_step: int or None. Samples per example per step;
                None picks `min(k, max(1, rows // batch_size))`, with
                `rows` the decoder rows per step measured fastest by
                `benchmarks/bench_likelihood.py`: 2,000 on JAX and torch
                (small steps stay in the CPU's caches), 20,000 on
                TensorFlow.
            seed: int in [0, 2**32) or None. Seed of the importance
                samples.
            verbose: `"auto"`, 0 or 1: a progress bar over the steps.
            progress_path: str or None. A file where the running sums and
                the state of the noise are saved, atomically, after every
                step. A call with the same file, data, weights and
                arguments continues where a stopped one ended and returns
                what an uninterrupted call would have (for long
                evaluations). The file is removed once the estimate is
                complete; one made for other data, weights or arguments is
                ignored and overwritten.

        Returns:
            A float64 numpy array `(n,)`: the estimates of `log p(x)`. The
            negative mean is the test NLL usually reported.

        Raises:
            ValueError: `x` holds NaN or inf, or values outside the
                likelihood's support (`[0, 1]` for Bernoulli); or an
                argument is invalid (`seed`: None or an int in [0, 2**32)).

        Example:

        ```python
        import keras
        import numpy as np
        import keras_vae

        encoder = keras.Sequential(
            [keras.Input((6,)), keras.layers.Dense(16, activation="relu")]
        )
        decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(6)])
        vae = keras_vae.VAE(encoder, decoder, latent_dim=2, seed=0)
        x = (np.random.rand(8, 6) > 0.5).astype("float32")
        log_px = vae.log_likelihood(x, num_samples=100, verbose=0)
        nll = -log_px.mean()  # nats per example
        ```
        """
        weights_model = self._importance_weights(
            num_samples, batch_size, samples_per_step, seed
        )
        return weights_model.log_likelihood(
            self._as_data(x),
            num_samples,
            batch_size=batch_size,
            verbose=verbose,
            progress_path=progress_path,
        )

    def _importance_weights(
        self, num_samples, batch_size, samples_per_step, seed
    ):
        """The validated `ImportanceWeights` model of `log_likelihood`."""
        from keras_vae.models.importance_weights import ImportanceWeights

        num_samples = _validation.positive_int("num_samples", num_samples)
        batch_size = _validation.positive_int("batch_size", batch_size)
        seed = _validation.seed("seed", seed)
        if samples_per_step is None:
            rows = _ROWS_PER_STEP.get(keras.backend.backend(), 2000)
            samples_per_step = min(num_samples, max(1, rows // batch_size))
        samples_per_step = _validation.positive_int(
            "samples_per_step", samples_per_step
        )
        # One model per `samples_per_step`, so that repeated calls reuse its
        # compiled `predict` (a new one recompiles: ~1.5 s on jax). Held by
        # a plain object, which neither Keras's tracking nor its saving
        # walks (they enter layers, dicts, lists and tuples): the models
        # must not join the VAE's weights or its saved files.
        holder = vars(self).setdefault(
            "_importance_weights_cache", _Untracked()
        )
        models = holder.models
        if samples_per_step not in models:
            models[samples_per_step] = ImportanceWeights(
                self, samples_per_step=samples_per_step, seed=seed
            )
        model = models[samples_per_step]
        model.restart(seed)
        return model

    # ------------------------------------------------------------------
    # Scores and latent tools.

    def score(
        self,
        x,
        kind="log_likelihood",
        num_samples=100,
        batch_size=100,
        seed=None,
        verbose="auto",
    ):
        """One score per example: its ELBO or its estimated `log p(x)`.

        For anomaly and novelty detection: a low score marks an example
        the model finds unlikely. `"log_likelihood"` is the
        importance-weighted estimate of `log_likelihood` with
        `num_samples` samples; `"elbo"` the Monte Carlo ELBO, the mean of
        `log p(x|z) + log p(z) - log q(z|x)` over `num_samples` draws of
        `q(z|x)` (a lower bound; cheaper per sample, noisier per example
        with few samples). Both in nats, batched, with a progress bar.

        Args:
            x: array `(n, ...)`, like the training data.
            kind: str. `"log_likelihood"` (default) or `"elbo"`.
            num_samples: int > 0. Draws per example, default 100.
            batch_size: int > 0. Examples per step, default 100.
            seed: int in [0, 2**32) or None. Seed of the draws.
            verbose: `"auto"`, 0 or 1: a progress bar.

        Returns:
            A float32 numpy array `(n,)`.

        Raises:
            ValueError: `kind` is not one of the two, or `x` or another
                argument is invalid (see `log_likelihood`).

        Example:

        ```python
        import keras
        import numpy as np
        import keras_vae

        encoder = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8)])
        decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(6)])
        vae = keras_vae.VAE(encoder, decoder, latent_dim=2, seed=0)
        x = (np.random.rand(8, 6) > 0.5).astype("float32")
        scores = vae.score(x, kind="elbo", num_samples=10, verbose=0)  # (8,)
        ```
        """
        return self._score(x, kind, num_samples, batch_size, seed, verbose)

    def _score(self, inputs, kind, num_samples, batch_size, seed, verbose):
        kind = _validation.one_of("kind", kind, ("log_likelihood", "elbo"))
        weights_model = self._importance_weights(
            num_samples, batch_size, None, seed
        )
        values = weights_model.log_likelihood(
            self._as_inputs(inputs),
            num_samples,
            batch_size=batch_size,
            verbose=verbose,
            average=kind == "elbo",
        )
        return values.astype("float32")

    def interpolate(self, a, b, steps=8, method="slerp", batch_size=256):
        """Decodes a path between two examples, or two latent vectors.

        Two examples (shaped like one example of the data) are encoded
        first, to the means of their posteriors; two vectors of shape
        `(latent_dim,)` are used as they are. The path has `steps` points
        from `a` to `b`, both included: straight (`"linear"`), or along
        the great circle (`"slerp"`, spherical interpolation: the norm
        changes smoothly from one end's to the other's, where a straight
        line between two typical draws of N(0, I) passes near the origin,
        a region the prior rarely samples).

        Args:
            a: array, one example or one latent vector.
            b: array, of the same kind as `a`.
            steps: int >= 2. Points on the path, default 8.
            method: str. `"slerp"` (default) or `"linear"`.
            batch_size: int. Vectors per forward pass, default 256.

        Returns:
            A float32 numpy array `(steps, ...)`: the mean of `p(x|z)` at
            each point (images, for image data).

        Raises:
            ValueError: `a` and `b` are neither examples nor latent
                vectors, or `steps` or `method` is invalid.

        Example:

        ```python
        import keras
        import numpy as np
        import keras_vae

        encoder = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8)])
        decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(6)])
        vae = keras_vae.VAE(encoder, decoder, latent_dim=2, seed=0)
        x = (np.random.rand(2, 6) > 0.5).astype("float32")
        path = vae.interpolate(x[0], x[1], steps=5)  # (5, 6)
        between = vae.interpolate(np.zeros(2), np.ones(2), method="linear")
        ```
        """
        return self._interpolate(a, b, steps, method, batch_size, None)

    def _interpolate(self, a, b, steps, method, batch_size, condition):
        steps = _validation.positive_int("steps", steps)
        if steps < 2:
            raise ValueError(
                "`steps` must be at least 2 (the two ends). Received: "
                f"steps={steps}"
            )
        method = _validation.one_of("method", method, ("slerp", "linear"))
        ends = self._latents(("a", a), ("b", b), condition=condition)
        t = np.linspace(0.0, 1.0, steps)[:, None]
        start, end = ends.astype("float64")
        if method == "slerp":
            cosine = np.dot(start, end) / max(
                np.linalg.norm(start) * np.linalg.norm(end), 1e-12
            )
            angle = np.arccos(np.clip(cosine, -1.0, 1.0))
            if angle > 1e-6:  # Else (parallel ends) the line.
                weights = np.sin((1.0 - t) * angle), np.sin(t * angle)
                path = (weights[0] * start + weights[1] * end) / np.sin(angle)
                return self._decode(
                    path, self._repeat(condition, 0, steps), batch_size
                )
        path = (1.0 - t) * start + t * end
        return self._decode(path, self._repeat(condition, 0, steps), batch_size)

    def traverse(self, x_or_z, dim, values=None, batch_size=256):
        """Decodes one code with one latent dimension swept over `values`.

        Shows what a latent dimension does: the code of `x_or_z` (one
        example, encoded to its posterior mean, or one latent vector of
        shape `(latent_dim,)`) is decoded with dimension `dim` set to each
        of `values` in turn, the others kept.

        Args:
            x_or_z: array, one example or one latent vector.
            dim: int or list of ints. The latent dimension(s), in
                `[0, latent_dim)`.
            values: 1-d array or None. The values to set, default
                `linspace(-3, 3, 7)` (3 standard deviations of the prior).
            batch_size: int. Vectors per forward pass, default 256.

        Returns:
            A float32 numpy array `(len(values), ...)`, or for a list of
            dimensions `(len(dim), len(values), ...)`.

        Raises:
            ValueError: `dim` is out of range, or `x_or_z` is neither an
                example nor a latent vector.

        Example:

        ```python
        import keras
        import numpy as np
        import keras_vae

        encoder = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8)])
        decoder = keras.Sequential([keras.Input((3,)), keras.layers.Dense(6)])
        vae = keras_vae.VAE(encoder, decoder, latent_dim=3, seed=0)
        x = (np.random.rand(1, 6) > 0.5).astype("float32")
        sweep = vae.traverse(x[0], dim=1)  # (7, 6)
        grid = vae.traverse(np.zeros(3), dim=[0, 2], values=[-2, 0, 2])
        ```
        """
        return self._traverse(x_or_z, dim, values, batch_size, None)

    def _traverse(self, x_or_z, dim, values, batch_size, condition):
        dims = dim if isinstance(dim, (list, tuple)) else [dim]
        for d in dims:
            if (
                isinstance(d, bool)
                or not isinstance(d, (int, np.integer))
                or not 0 <= d < self.latent_dim
            ):
                raise ValueError(
                    "`dim` must be an int (or a list of ints) in [0, "
                    f"latent_dim={self.latent_dim}). Received: dim={dim!r}"
                )
        if values is None:
            values = np.linspace(-3.0, 3.0, 7)
        values = np.asarray(values, "float32").reshape(-1)
        check_data("values", values)
        code = self._latents(("x_or_z", x_or_z), condition=condition)[0]
        z = np.repeat(code[None], len(dims) * len(values), axis=0)
        for i, d in enumerate(dims):
            z[i * len(values) : (i + 1) * len(values), d] = values
        images = self._decode(z, self._repeat(condition, 0, len(z)), batch_size)
        if isinstance(dim, (list, tuple)):
            return images.reshape((len(dims), len(values)) + images.shape[1:])
        return images

    def _latents(self, *named, condition=None):
        """Latent vectors `(len(named), latent_dim)` for `(name, value)`
        pairs, each one example (encoded: its posterior mean) or one
        latent vector; all of the same kind."""
        arrays = [
            np.asarray(ops.convert_to_numpy(v), "float32") for _, v in named
        ]
        shape = self._encoder_input_shape()
        data_shape = None if shape is None else tuple(shape[1:])
        latent_shape = (self.latent_dim,)
        kinds = set()
        for (name, _), array in zip(named, arrays):
            is_latent = array.shape == latent_shape
            is_data = data_shape is not None and array.shape == data_shape
            if is_latent and is_data:
                raise ValueError(
                    f"`{name}` has shape {array.shape}, both the data's and "
                    "the latent space's: encode it yourself (`encode`) and "
                    "pass latent vectors."
                )
            if not (is_latent or is_data):
                raise ValueError(
                    f"`{name}` must be one example, of shape {data_shape}, "
                    f"or one latent vector, of shape {latent_shape}. "
                    f"Received shape {array.shape}."
                )
            kinds.add("latent" if is_latent else "data")
        if len(kinds) > 1:
            raise ValueError(
                "Give two examples or two latent vectors, not one of each: "
                f"received shapes {[a.shape for a in arrays]}."
            )
        stacked = np.stack(arrays)
        if kinds == {"latent"}:
            check_data(named[0][0], stacked)
            return stacked
        stacked = self._as_data(stacked)
        given = self._repeat(condition, 0, len(stacked))
        return self._batched(self._encoded, (stacked, given), 256)[0]

    @staticmethod
    def _repeat(condition, index, n):
        """`n` copies of condition `index` (None stays None)."""
        if condition is None:
            return None
        return np.repeat(condition[index : index + 1], n, axis=0)

    # ------------------------------------------------------------------
    # Presets and serialization.

    @classmethod
    def from_preset(cls, preset, max_parameters=None):
        """Loads a pretrained VAE: a preset's name or a preset directory.

        Loading only reads, and checks before it trusts: the preset's JSON
        files must be well-formed and of bounded size, its metadata may
        name only plain files inside the directory, and every file must
        match its SHA-256 (for the presets shipped with keras_vae, the
        sums pinned in the package's code; for a directory, those of its
        own `metadata.json`). The model is then rebuilt from its config in
        safe mode (no Python code runs) within a parameter budget, its
        weights are loaded, and it must reproduce the outputs stored in
        its `reference.npz`. Weights load on any backend, whichever
        trained them. The docs' Safety page says what a preset from a path
        is trusted for.

        Args:
            preset: str. A preset name (`keras_vae.presets.list_presets()`
                lists them) or the path of a preset directory.
            max_parameters: int or None. The most weights the model may
                allocate; None means
                `keras_vae.presets.DEFAULT_MAX_PARAMETERS` (10^8).

        Returns:
            A `VAE`, ready to `sample`, `reconstruct`, `encode`... It comes
            back as it was published: uncompiled (no optimizer: compile it
            to train it further), with its KL warm-up counter where
            training left it, at the end (further training starts at the
            full KL weight; `keras_vae.training.with_kl_warmup` restarts
            it), and its metadata in `preset_metadata`. The tutorial
            "Fine-tune a preset" and `keras_vae.training.finetune` continue
            training it.

        Raises:
            keras_vae.presets.PresetError: the preset is unknown, damaged,
                modified, malformed, too large, or not a keras_vae model.

        Example:

        ```python
        import keras_vae

        vae = keras_vae.VAE.from_preset("mnist_mlp_2")
        images = vae.sample(16, seed=0)
        ```
        """
        from keras_vae.presets import _preset_io

        return _preset_io.load_as(cls, preset, max_parameters)

    def save_to_preset(self, directory, metadata=None):
        """Saves the model as a preset directory, atomically.

        Writes `config.json`, `model.weights.h5`, `reference.npz` (inputs
        and deterministic outputs, to check the weights give the same
        outputs on another backend), `samples.png` for image data, and
        `metadata.json` (with the SHA-256 of every file), so that
        `VAE.from_preset(directory)` loads it back. `zoo.publish` adds the
        model card and the reconstructions.

        Nothing of yours is ever deleted: `directory` must not exist, be
        empty, or be a keras_vae preset holding only its own files (it is
        then replaced). A file, a symbolic link or a directory with other
        files in it is refused before anything is written. The new
        version is written beside `directory` and swapped in whole, so an
        interrupted save leaves the previous version.

        Args:
            directory: str. A new or empty directory, or a preset to
                replace.
            metadata: dict or None. Extra metadata, JSON values only, e.g.
                `{"metrics": ...}`.

        Returns:
            `directory`, absolute.

        Raises:
            keras_vae.presets.PresetError: `directory` cannot take a
                preset, or `metadata` cannot be saved as JSON; nothing was
                written.

        Example:

        ```python
        import os
        import tempfile

        import keras
        import numpy as np
        import keras_vae

        # A preset holds images of samples: a tiny VAE for 8x8 images.
        encoder = keras.Sequential(
            [keras.Input((8, 8, 1)), keras.layers.Flatten(),
             keras.layers.Dense(16, activation="relu")]
        )
        decoder = keras.Sequential(
            [keras.Input((2,)), keras.layers.Dense(64),
             keras.layers.Reshape((8, 8, 1))]
        )
        vae = keras_vae.VAE(encoder, decoder, latent_dim=2, seed=0)
        vae(np.zeros((1, 8, 8, 1), "float32"))  # Build the weights.
        directory = os.path.join(tempfile.mkdtemp(), "my_vae")
        vae.save_to_preset(directory, metadata={"description": "tiny"})
        same = keras_vae.VAE.from_preset(directory)
        ```
        """
        from keras_vae.presets import _preset_io

        return _preset_io.save(self, directory, metadata=metadata)

    def export(self, filepath, format="tf_saved_model", verbose=False):
        """Exports the deterministic endpoints for serving.

        `encode`, `decode` and `sample_from_noise` (noise as an input: no
        random op in the graph), as a TF SavedModel (TensorFlow and JAX
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

        encoder = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8)])
        decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(6)])
        vae = keras_vae.VAE(encoder, decoder, latent_dim=2, seed=0)
        path = vae.export(
            os.path.join(tempfile.mkdtemp(), "vae_onnx"), format="onnx"
        )  # encode.onnx, decode.onnx, sample_from_noise.onnx
        ```
        """
        from keras_vae.export import export

        return export(self, filepath, format=format, verbose=verbose)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "encoder": keras.saving.serialize_keras_object(self.encoder),
                "decoder": keras.saving.serialize_keras_object(self.decoder),
                "latent_dim": self.latent_dim,
                "likelihood": self._likelihood_config(),
                "gaussian_variance": self.gaussian_variance,
                "beta": self.beta,
                "kl_warmup_steps": self.kl_warmup_steps,
                "objective": self.objective,
                "num_samples": self.num_samples,
                "parameterization": self.parameterization,
                "seed": self.seed,
                "prior": self._layer_config(
                    self.prior,
                    isinstance(self.prior, priors.StandardNormal)
                    and type(self.prior) is priors.StandardNormal,
                ),
                "posterior": self._layer_config(
                    self.encoder_head, self._default_posterior
                ),
            }
        )
        return config

    def _likelihood_config(self):
        """The likelihood's config: its name for the built-in ones (as in
        the configs of earlier versions), else its serialized form."""
        likelihood = self.likelihood
        if (
            type(likelihood) is likelihoods.Gaussian
            and likelihood.variance == self.gaussian_variance
        ):
            return "gaussian"
        return likelihoods.serialize(likelihood)

    @staticmethod
    def _layer_config(layer, default):
        if default:
            return None  # Rebuilt from the other arguments.
        return keras.saving.serialize_keras_object(layer)

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("encoder", "decoder", "prior", "posterior"):
            if config.get(key) is not None:
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


def check_data_shape(expected, shape):
    """Refuses data of `shape` for an encoder of input shape `expected`
    (batch first; None: any)."""
    if expected is None:
        return
    shape = tuple(shape)
    if len(shape) != len(expected) or any(
        e is not None and e != s for e, s in zip(expected[1:], shape[1:])
    ):
        raise ValueError(
            "The data does not fit the model: the encoder expects inputs "
            f"of shape {expected} (batch first), but the data has shape "
            f"{shape}."
        )


def batched(fn, inputs, batch_size):
    """`fn` over batches of `inputs`, an array or a tuple of arrays (then
    sliced together, and passed as `fn(*slices)`; None stays None), its
    numpy outputs concatenated (a tuple of outputs, each)."""
    batch_size = _validation.positive_int("batch_size", batch_size)
    if not isinstance(inputs, tuple):
        inputs = (inputs,)
    outputs = []
    for start in range(0, len(inputs[0]), batch_size):
        result = fn(
            *(
                None if a is None else a[start : start + batch_size]
                for a in inputs
            )
        )
        outputs.append(keras.tree.map_structure(ops.convert_to_numpy, result))
    if not outputs:
        raise ValueError("Received an empty input (0 examples).")
    if isinstance(outputs[0], tuple):
        return tuple(np.concatenate(parts) for parts in zip(*outputs))
    return np.concatenate(outputs)


class _MeansOfTerms(keras.metrics.Metric):
    """The running means of a step's scalar terms, as one metric.

    `result()` is a dict: a mean per name of `names` (the first two being
    `reconstruction` and `kl`), and `elbo`, `-(reconstruction + kl)`.
    """

    def __init__(self, names, name="terms"):
        super().__init__(name=name)
        self.names = tuple(names)
        self.totals = self.add_variable(
            shape=(len(self.names),), initializer="zeros", name="totals"
        )
        self.count = self.add_variable(
            shape=(), initializer="zeros", name="count"
        )

    def update_state(self, values):
        values = ops.stack([ops.cast(v, self.dtype) for v in values])
        self.totals.assign_add(values)
        self.count.assign_add(ops.cast(1, self.dtype))

    def reset_state(self):
        self.totals.assign(ops.zeros(self.totals.shape, self.dtype))
        self.count.assign(ops.cast(0, self.dtype))

    def result(self):
        means = ops.divide_no_nan(self.totals, self.count)
        results = {name: means[i] for i, name in enumerate(self.names)}
        results["elbo"] = -(means[0] + means[1])
        return results


_ROWS_PER_STEP = {"jax": 2000, "torch": 2000, "tensorflow": 20000}
"""Decoder rows per step of `log_likelihood` (examples times samples per
example) when `samples_per_step` is None: the fastest shapes measured by
`benchmarks/bench_likelihood.py` on the `mnist_mlp_32` architecture (on
JAX, 0.85 of the machine's matmul limit at 100 x 20 against 0.76 at
100 x 200; TensorFlow is the other way round)."""


class _Untracked:
    """A holder Keras does not look into (see `VAE._importance_weights`)."""

    def __init__(self):
        self.models = {}


_GRADIENT_FACTOR = 3
"""Memory of a training step per activation value, in float32s: the value,
its gradient and the temporaries of the loss (a rough, safe-side factor)."""


def _available_memory():
    """Bytes of this machine's memory available now (`MemAvailable` of
    `/proc/meminfo`: the host's, not an accelerator's), or None where that
    cannot be read (not Linux)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024  # In kB.
    except (OSError, ValueError, IndexError):
        return None
    return None


def _activations_per_example(layer):
    """The values a layer (a model: its layers, recursively) computes per
    example, from their output shapes; None if some are unknown."""
    inner = getattr(layer, "layers", None)
    if inner:
        counts = [_activations_per_example(child) for child in inner]
        return None if None in counts else sum(counts)
    try:
        outputs = keras.tree.flatten(layer.output)
    except (AttributeError, ValueError):  # Never called on a symbolic input.
        return None
    total = 0
    for output in outputs:
        dims = tuple(output.shape)[1:]
        if any(d is None for d in dims):
            return None
        total += math.prod(dims)
    return total


def _format_bytes(count):
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            break
        count /= 1024
    return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
