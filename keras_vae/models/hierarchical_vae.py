import keras
import numpy as np
from keras import ops

from keras_vae import _validation
from keras_vae import distributions
from keras_vae import objectives
from keras_vae.layers.gaussian_encoder_head import GaussianEncoderHead
from keras_vae.models.vae import VAE


@keras.saving.register_keras_serializable(package="keras_vae")
class HierarchicalVAE(VAE):
    """A VAE with several stochastic layers and top-down inference.

    The ladder VAE of Sønderby et al. (2016). The generative model is a
    chain from the top level down,

        p(x, z_1..z_L) = p(z_L) p(z_{L-1}|z_L) ... p(z_1|z_2) p(x|z_1),

    each conditional prior `p(z_l|z_{l+1})` a diagonal Gaussian whose
    parameters a top-down block (a Dense layer of `hidden_units` and a
    Gaussian head) computes from the level above, and the decoder mapping
    the bottom level `z_1` to the likelihood's parameters. The top prior
    `p(z_L)` is `prior`: N(0, I) by default, or any `keras_vae.priors`
    prior, e.g. `priors.VampPrior`, whose pseudo-inputs then go through
    the encoder and the bottom-up path to the top posterior.

    Inference runs bottom-up, then top-down. The bottom-up pass computes
    deterministic features `d_1..d_L`: `d_1` is the encoder's output
    (flattened), each next one a Dense layer of the previous. The top
    posterior `q(z_L|x)` is a Gaussian head on `d_L`. Each lower posterior
    `q(z_l|x, z_{l+1})` merges the bottom-up Gaussian of its level (a
    head on `d_l`) with the top-down prior `p(z_l|z_{l+1})`, given the
    draw of the level above, by the precision weighting of the ladder VAE
    (not a learned merge):

        1 / var_q = 1 / var_bu + 1 / var_p
        mean_q    = (mean_bu / var_bu + mean_p / var_p) * var_q

    so the posterior shares the prior's top-down computation and can only
    sharpen it.

    The ELBO sums the KL of every level,

        ELBO = E_q[log p(x|z_1)] - KL(q(z_L|x) || p(z_L))
               - sum_{l<L} E_q[KL(q(z_l|x, z_{l+1}) || p(z_l|z_{l+1}))],

    each lower KL in closed form (two Gaussians) given the draw of the
    level above, the top one in closed form where the prior has one (the
    standard normal), else the Monte Carlo estimate `log q - log p` on the
    same draws (as `VAE` does). `fit` and `evaluate` report each level's
    KL as `kl_1` (bottom) to `kl_L` (top), beside `kl` (their sum),
    `reconstruction`, `elbo` and `loss`. The KL weight (`beta`, and the
    warm-up of `kl_warmup_steps`) applies to every level alike.
    `free_bits` (Kingma et al., 2016) counts each level's KL, its mean
    over the batch, as at least `free_bits` nats in the training loss, so
    that no level collapses early; evaluation and the metrics use the KLs
    themselves. With `objective="iwae"` the loss is the importance-weighted
    bound over every level.

    `log_likelihood` and `score` importance-sample every level, with the
    log weight `log p(x|z_1) + log p(z_L) + sum_{l<L} log p(z_l|z_{l+1})
    - log q(z_L|x) - sum_{l<L} log q(z_l|x, z_{l+1})`.

    The numpy API speaks of the top level, whose size is `latent_dim`
    (`latent_dims[-1]`): `encode(x)` returns the mean and log-variance of
    `q(z_L|x)` (the only posterior that depends on `x` alone), `decode(z)`
    takes top-level codes `(n, latent_dims[-1])` down to `z_1` through the
    means of the conditional priors, and `interpolate` and `traverse` move
    the top code. `sample(n)` draws every level from its prior in turn,
    from the top down (ancestral sampling), and `reconstruct(x)` decodes
    the posterior's means at every level (with `sample=True`, draws of
    each).

    Args:
        encoder: a Keras layer or model mapping a batch of data to features
            (`d_1`), of any shape with all non-batch dimensions known.
        decoder: a Keras layer or model mapping `(batch, latent_dims[0])`
            bottom-level codes to the likelihood's parameters.
        latent_dims: list or tuple of >= 2 ints > 0. The sizes of the
            levels, bottom first, e.g. `(32, 16)`.
        hidden_units: int > 0. The width of the Dense layer of each
            bottom-up and top-down block, default 256.
        activation: str or None. The activation of those Dense layers (a
            name `keras.activations.get` knows), default `"elu"`; None
            makes every level linear-Gaussian.
        free_bits: float >= 0. Nats per level: in training, each level's
            KL (its mean over the batch) counts as at least this much in
            the loss. Default 0 (off). Only with `objective="elbo"`.
        likelihood: str, config dict or `keras_vae.likelihoods.Likelihood`,
            as for `VAE`. Default `"bernoulli"`.
        beta: float >= 0. Weight of the KL terms of every level, default
            1.0.
        kl_warmup_steps: int >= 0. Training steps for the KL weight to grow
            from 0 to `beta`, default 0 (no warm-up).
        objective: `"elbo"` (default) or `"iwae"` (the importance-weighted
            bound with `num_samples` draws of every level), or the
            corresponding `keras_vae.objectives` object.
        num_samples: int > 0. Samples of the hierarchy per example in
            training, default 1.
        seed: int in [0, 2**32) or None. Seed of the sampling noise (and,
            plus one, of `sample`'s draws); None draws a random one.
        prior: None (the standard normal), `"standard_normal"`, a config
            dict or a `keras_vae.priors.Prior`: the top level's prior
            `p(z_L)`, over `latent_dims[-1]` dimensions.
        **kwargs: further arguments of `VAE`: `gaussian_variance`,
            `parameterization` (of every Gaussian head: the posteriors'
            and the conditional priors'), and the base model's (`name`,
            `dtype`...). A `posterior` is refused: the model makes its
            own, one per level.

    Call arguments:
        inputs: a batch of data, shaped like the encoder's input.
        training: bool. Whether the call is a training step.

    Returns (from `call`):
        The decoder's output for the draws of `z_1`, shaped like `inputs`,
        or `(batch, num_samples, ...)` if `num_samples > 1`.

    Example:

    ```python
    import keras
    import numpy as np
    import keras_vae

    encoder = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(),
         keras.layers.Dense(128, activation="relu")]
    )
    decoder = keras.Sequential(
        [keras.Input((16,)), keras.layers.Dense(128, activation="relu"),
         keras.layers.Dense(784), keras.layers.Reshape((28, 28, 1))]
    )
    hvae = keras_vae.HierarchicalVAE(
        encoder, decoder, latent_dims=(16, 8), hidden_units=64,
        free_bits=0.1, seed=0,
    )
    hvae.compile(optimizer="adam")
    x = (np.random.rand(256, 28, 28, 1) > 0.5).astype("float32")
    history = hvae.fit(x, epochs=1, batch_size=64, verbose=0)
    kls = history.history["kl_1"], history.history["kl_2"]  # per level
    images = hvae.sample(4, seed=0)  # (4, 28, 28, 1) probabilities
    mean, log_var = hvae.encode(x[:4])  # q(z_2|x): two (4, 8) arrays
    log_px = hvae.log_likelihood(x[:4], num_samples=100, verbose=0)
    ```
    """

    def __init__(
        self,
        encoder,
        decoder,
        latent_dims,
        hidden_units=256,
        activation="elu",
        free_bits=0.0,
        likelihood="bernoulli",
        beta=1.0,
        kl_warmup_steps=0,
        objective="elbo",
        num_samples=1,
        seed=None,
        prior=None,
        **kwargs,
    ):
        # === Checks ===
        if isinstance(latent_dims, (list, tuple)):
            dims = [
                _validation.positive_int("latent_dims", d) for d in latent_dims
            ]
        else:
            dims = []
        if len(dims) < 2:
            raise ValueError(
                "`latent_dims` must list the sizes of at least two levels, "
                "bottom first, e.g. (32, 16) (one level is a `VAE`). "
                f"Received: latent_dims={latent_dims!r}"
            )
        hidden_units = _validation.positive_int("hidden_units", hidden_units)
        if activation is not None:
            try:
                valid = isinstance(activation, str) and callable(
                    keras.activations.get(activation)
                )
            except (ValueError, TypeError):
                valid = False
            if not valid:
                raise ValueError(
                    "`activation` must be None or the name of a Keras "
                    "activation, such as 'elu' or 'relu' (a name, so that "
                    "the model saves and loads in safe mode). Received: "
                    f"activation={activation!r}"
                )
        free_bits = _validation.non_negative_float("free_bits", free_bits)
        chosen = objectives.get(objective)
        if type(chosen) not in (objectives.ELBO, objectives.IWAE):
            raise ValueError(
                "`HierarchicalVAE` trains with `objective='elbo'` or "
                f"`'iwae'`. Received: objective={objective!r}"
            )
        if free_bits > 0 and isinstance(chosen, objectives.IWAE):
            raise ValueError(
                "`free_bits` applies to the KL terms of the ELBO; the IWAE "
                "bound has none. Use `objective='elbo'` or `free_bits=0`. "
                f"Received: free_bits={free_bits}, objective={objective!r}"
            )
        if kwargs.get("posterior") is not None:
            raise ValueError(
                "`HierarchicalVAE` makes its own posteriors (a Gaussian per "
                "level, merged top-down). Received: posterior="
                f"{kwargs['posterior']!r}"
            )
        kwargs.pop("posterior", None)
        if "latent_dim" in kwargs:
            raise ValueError(
                "`HierarchicalVAE` takes the sizes of its levels as "
                "`latent_dims` (bottom first); `latent_dim` is the top's, "
                "`latent_dims[-1]`. Received: "
                f"latent_dim={kwargs['latent_dim']!r}"
            )
        self.latent_dims = tuple(dims)
        self.hidden_units = hidden_units
        self.activation = activation
        self.free_bits = free_bits
        # The base's latent space is the top level's: its posterior head
        # (`encoder_head`, on `d_L`), prior, `encode`, `decode`, `sample`.
        super().__init__(
            encoder,
            decoder,
            self.latent_dims[-1],
            likelihood=likelihood,
            beta=beta,
            kl_warmup_steps=kl_warmup_steps,
            objective=objective,
            num_samples=num_samples,
            seed=seed,
            prior=prior,
            **kwargs,
        )

        # === Layers ===
        # Lists indexed by the level below the top, 0-based (level `i` is
        # `z_{i+1}`): `bottom_up[i]` computes `d_{i+2}` from `d_{i+1}`,
        # `bottom_up_heads[i]` the bottom-up Gaussian of `z_{i+1}` from
        # `d_{i+1}`, `top_down[i]` and `top_down_heads[i]` the conditional
        # prior `p(z_{i+1}|z_{i+2})`.
        levels = len(dims)

        def dense(name):
            return keras.layers.Dense(
                hidden_units,
                activation=activation,
                dtype=self.dtype_policy,
                name=name,
            )

        def head(dim, name):
            return GaussianEncoderHead(
                dim,
                parameterization=self.parameterization,
                dtype=self.dtype_policy,
                name=name,
            )

        self.bottom_up = [dense(f"bottom_up_{i}") for i in range(2, levels + 1)]
        self.bottom_up_heads = [
            head(dims[i], f"bottom_up_head_{i + 1}") for i in range(levels - 1)
        ]
        self.top_down = [dense(f"top_down_{i}") for i in range(1, levels)]
        self.top_down_heads = [
            head(dims[i], f"prior_head_{i + 1}") for i in range(levels - 1)
        ]

    def _extra_metrics(self):
        return tuple(f"kl_{i}" for i in range(1, len(self.latent_dims) + 1))

    @staticmethod
    def _no_condition(condition):
        if condition is not None:
            raise ValueError(
                "`HierarchicalVAE` is not conditional: it takes no "
                f"`condition`. Received: condition={condition!r}"
            )

    # ------------------------------------------------------------------
    # The hierarchy.

    def _bottom_up_features(self, x, training=None):
        """`[d_1, ..., d_L]`, each `(B, features)`."""
        d = self.encoder(x, training=training)
        if len(d.shape) != 2:
            d = ops.reshape(d, (-1, int(np.prod(d.shape[1:]))))
        features = [d]
        for layer in self.bottom_up:
            features.append(layer(features[-1], training=training))
        return features

    def _features(self, x, condition=None, training=None):
        # `d_L`: the features of the top posterior `encoder_head` (and of
        # `encode`, and of a VampPrior's pseudo-inputs).
        self._no_condition(condition)
        return self._bottom_up_features(x, training)[-1]

    def _conditional_prior(self, level, z_above, training=None):
        """`p(z_level | z_above)`: `level` 0-based, below the top; `z_above`
        `(..., latent_dims[level + 1])`, any leading axes."""
        flat = ops.reshape(z_above, (-1, z_above.shape[-1]))
        hidden = self.top_down[level](flat, training=training)
        mean, log_var = self.top_down_heads[level](hidden)
        lead = tuple(z_above.shape[:-1])
        if None in lead:  # Symbolic batch size.
            lead = tuple(ops.shape(z_above)[:-1])
        shape = lead + (self.latent_dims[level],)
        return distributions.Normal.from_log_var(
            ops.reshape(mean, shape), ops.reshape(log_var, shape)
        )

    def _merged_posterior(self, level, features, prior):
        """`q(z_level | x, z_above)`: the bottom-up Gaussian of the level
        (from `features` `(B, ...)`) and the top-down `prior` `(k, B, ...)`
        or `(B, ...)`, precision-weighted (in float32)."""
        mean, log_var = self.bottom_up_heads[level](features)
        mean = ops.cast(mean, "float32")
        log_var = ops.cast(log_var, "float32")
        precision_bu = ops.exp(-log_var)
        precision_p = ops.exp(-prior.log_var)
        log_var_q = -ops.log(precision_bu + precision_p)
        mean_q = (mean * precision_bu + prior.loc * precision_p) * ops.exp(
            log_var_q
        )
        return distributions.Normal.from_log_var(mean_q, log_var_q)

    def _terms(
        self,
        x,
        num_samples,
        seed,
        training=None,
        log_weights=False,
        condition=None,
    ):
        """As `VAE._terms`, over every level, for `k = num_samples` draws
        of the hierarchy: `q` and `p` the top posterior and prior, `z` the
        top draws and `zs` every level's (bottom first, each
        `(k, B, dim)`), `params` `(k, B, ...)`, `log_px` `(k, B)`, `kls`
        the levels' KLs (bottom first, each `(B,)`, a lower level's the
        mean over the draws above), `kl` `(B,)` their sum, and `log_pz`
        and `log_qz` `(k, B)` summed over the levels (always computed:
        the lower levels need the draws' densities anyway)."""
        self._no_condition(condition)
        features = self._bottom_up_features(x, training)
        q_top = self.encoder_head(features[-1])
        p_top = self._prior(training=training)
        z, log_qz = q_top.sample_and_log_prob(
            seed=seed, sample_shape=(num_samples,)
        )
        log_pz = p_top.log_prob(z)
        if distributions.has_closed_form(q_top, p_top):
            kls = [distributions.kl_divergence(q_top, p_top)]
        else:
            kls = [ops.mean(log_qz - log_pz, axis=0)]
        zs = [z]
        for level in reversed(range(len(self.latent_dims) - 1)):
            prior = self._conditional_prior(level, z, training)
            q = self._merged_posterior(level, features[level], prior)
            z, log_q = q.sample_and_log_prob(seed=seed)
            log_qz = log_qz + log_q
            log_pz = log_pz + prior.log_prob(z)
            kls.insert(0, ops.mean(distributions.kl_divergence(q, prior), 0))
            zs.insert(0, z)
        params = self._decode_params(z, training=training)
        return {
            "q": q_top,
            "p": p_top,
            "z": zs[-1],
            "zs": zs,
            "params": params,
            "log_px": self._likelihood(x, params).log_prob(x),
            "kls": kls,
            "kl": sum(kls[1:], kls[0]),
            "log_pz": log_pz,
            "log_qz": log_qz,
        }

    def call(self, inputs, training=None):
        x, _ = self._split_inputs(inputs)
        self._check_data_shape(x.shape)
        terms = self._terms(
            x, self.num_samples, self.sampler.seed_generator, training
        )
        kl_weight = self.current_kl_weight()
        self._advance_kl_step(training)
        reconstruction = -ops.mean(terms["log_px"])
        kl_means = [ops.mean(kl) for kl in terms["kls"]]
        if isinstance(self._objective, objectives.IWAE):
            losses, _ = self._objective.losses(terms, kl_weight, None)
        else:
            counted = kl_means
            if training and self.free_bits > 0:
                counted = [ops.maximum(kl, self.free_bits) for kl in kl_means]
            losses = [reconstruction, kl_weight * sum(counted[1:], counted[0])]
        for loss in losses:
            self.add_loss(loss)
        # Read back by `compute_loss` for the metrics: the KLs themselves.
        self._step_terms = (reconstruction, ops.mean(terms["kl"]), kl_means)
        params = terms["params"]
        if self.num_samples == 1:
            return params[0]
        return ops.moveaxis(params, 0, 1)

    # ------------------------------------------------------------------
    # The numpy API, through the levels.

    def _bottom_code(self, z_top, seed=None):
        """The bottom level's code under `z_top` `(n, latent_dims[-1])`:
        each level the mean of its conditional prior, or with a `seed`, a
        draw of it."""
        z = ops.convert_to_tensor(z_top)
        for level in reversed(range(len(self.latent_dims) - 1)):
            prior = self._conditional_prior(level, z)
            z = prior.mean() if seed is None else prior.sample(seed=seed)
        return z

    def _decoder_output(self, z, condition=None, training=None):
        # A top-level code (from `decode`), through the priors' means.
        self._no_condition(condition)
        return self.decoder(self._bottom_code(z), training=training)

    def _decode_params(self, z, training=None, condition=None):
        # From `_terms`: the bottom level's draws (k, B, latent_dims[0]).
        self._no_condition(condition)
        k = z.shape[0]
        params = self.decoder(
            ops.reshape(z, (-1, self.latent_dims[0])), training=training
        )
        shape = (k, ops.shape(z)[1]) + tuple(params.shape[1:])
        return ops.reshape(params, shape)

    def _sample(self, num_samples, seed, batch_size, condition=None):
        self._no_condition(condition)
        num_samples = _validation.positive_int("num_samples", num_samples)
        batch_size = _validation.positive_int("batch_size", batch_size)
        if isinstance(seed, keras.random.SeedGenerator):
            generator = seed
        else:
            seed = _validation.seed("seed", seed)
            generator = (
                self.prior_seed_generator
                if seed is None
                else keras.random.SeedGenerator(seed)
            )
        # Every level drawn for all the examples at once, so that the
        # samples do not depend on `batch_size`; the decoder in batches.
        z = self._prior(training=False).sample(
            seed=generator, sample_shape=(num_samples,)
        )
        z = self._bottom_code(z, generator)
        z = np.asarray(ops.convert_to_numpy(z), "float32")
        return self._batched(
            lambda b: self._mean_of_likelihood(self.decoder(b, training=False)),
            z,
            batch_size,
        )

    def _reconstruct(self, x, condition, sample, batch_size):
        self._no_condition(condition)
        seed = self.sampler.seed_generator if sample else None

        def step(batch):
            features = self._bottom_up_features(batch, training=False)
            q = self.encoder_head(features[-1])
            z = q.sample(seed=seed) if sample else q.mean()
            for level in reversed(range(len(self.latent_dims) - 1)):
                prior = self._conditional_prior(level, z)
                q = self._merged_posterior(level, features[level], prior)
                z = q.sample(seed=seed) if sample else q.mean()
            return self._mean_of_likelihood(self.decoder(z, training=False))

        return self._batched(step, x, batch_size)

    def get_config(self):
        config = super().get_config()
        for key in ("latent_dim", "posterior"):
            config.pop(key, None)
        config.update(
            {
                "latent_dims": list(self.latent_dims),
                "hidden_units": self.hidden_units,
                "activation": self.activation,
                "free_bits": self.free_bits,
            }
        )
        return config
