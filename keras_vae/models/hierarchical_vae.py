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

    each conditional prior a diagonal Gaussian whose parameters a small
    top-down network computes from the level above, and the decoder
    mapping the bottom level `z_1` to the likelihood's parameters. The
    top prior `p(z_L)` is `prior` (N(0, I) by default, or e.g.
    `priors.VampPrior`). Inference runs the same way: a bottom-up pass
    computes deterministic features `d_1..d_L` (`d_1` the encoder's
    output, each next one a Dense layer of the previous), the top
    posterior `q(z_L|x)` is a Gaussian head on `d_L`, and each lower
    posterior `q(z_l|x, z_{l+1})` merges the bottom-up Gaussian of its
    level (a head on `d_l`) with the top-down prior `p(z_l|z_{l+1})` by
    precision weighting, as in the ladder VAE:

        1 / var_q = 1 / var_bu + 1 / var_p
        mean_q    = (mean_bu / var_bu + mean_p / var_p) * var_q

    The ELBO sums the KL of every level, each given the draw of the level
    above (closed form for two Gaussians; at the top, as in `VAE`, the
    closed form where the prior has one, else Monte Carlo); `fit` reports
    each as `kl_1` (bottom) to `kl_L` (top) beside `kl`, their sum.
    `free_bits` keeps each level's KL in the loss from falling below a
    floor (Kingma et al., 2016), so that no level collapses early; with
    `kl_warmup_steps` every level warms up together. `log_likelihood`
    importance-samples every level: `log p(x|z_1) + log p(z_L) +
    sum_l log p(z_l|z_{l+1}) - sum_l log q(z_l|...)`.

    The numpy API speaks of the top level: `latent_dim` is the top's,
    `encode(x)` returns the mean and log-variance of `q(z_L|x)`,
    `decode(z)` decodes top-level codes through the means of the
    conditional priors below, `sample(n)` draws every level from its
    prior (ancestral sampling), and `reconstruct(x)` decodes the
    posterior's means at every level. `interpolate` and `traverse` move
    the top code.

    Args:
        encoder: a Keras layer or model mapping data to features (`d_1`).
        decoder: a Keras layer or model mapping `(batch, latent_dims[0])`
            bottom-level codes to the likelihood's parameters.
        latent_dims: tuple of >= 2 ints > 0. The sizes of the levels,
            bottom first, e.g. `(32, 16)`.
        hidden_units: int > 0. The width of the bottom-up and top-down
            Dense layers, default 256.
        activation: str or None. Their activation, default `"elu"`; None
            makes every level linear-Gaussian.
        free_bits: float >= 0. Nats per level below which a level's KL (its
            mean over the batch) is not counted in the training loss;
            default 0 (off). The metrics report the KLs themselves.
        likelihood: as for `VAE`, default `"bernoulli"`.
        beta: float >= 0. Weight of the KL terms, default 1.0.
        kl_warmup_steps: int >= 0. Training steps of the warm-up of the KL
            weight, default 0.
        objective: `"elbo"` (default) or `"iwae"` (free bits then do not
            apply: the IWAE bound has no separate KL terms).
        num_samples: int > 0. Samples per example in training, default 1.
        prior: the top level's prior, as for `VAE` (None: N(0, I)).
        seed: int in [0, 2**32) or None. Seed of the noise.
        **kwargs: further arguments of `VAE` (`gaussian_variance`,
            `parameterization`, `name`, `dtype`...).

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
        encoder, decoder, latent_dims=(16, 8), hidden_units=64, seed=0
    )
    hvae.compile(optimizer="adam")
    x = (np.random.rand(256, 28, 28, 1) > 0.5).astype("float32")
    history = hvae.fit(x, epochs=1, batch_size=64, verbose=0)
    history.history["kl_1"], history.history["kl_2"]  # KL of each level
    images = hvae.sample(4, seed=0)  # (4, 28, 28, 1)
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
        **kwargs,
    ):
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
        self.latent_dims = tuple(dims)
        self.hidden_units = _validation.positive_int(
            "hidden_units", hidden_units
        )
        self.activation = activation
        self.free_bits = _validation.non_negative_float("free_bits", free_bits)
        objective = objectives.get(kwargs.get("objective", "elbo"))
        if not isinstance(objective, (objectives.ELBO, objectives.IWAE)):
            raise ValueError(
                "`HierarchicalVAE` trains with `objective='elbo'` or "
                f"`'iwae'`. Received: objective={kwargs['objective']!r}"
            )
        if kwargs.get("posterior") is not None:
            raise ValueError(
                "`HierarchicalVAE` makes its own posteriors (a Gaussian per "
                "level, merged top-down). Received: posterior="
                f"{kwargs['posterior']!r}"
            )
        kwargs.pop("posterior", None)
        # The base's latent space is the top level's: its posterior head,
        # prior, `encode`, `decode` and `sample` are the top's.
        super().__init__(encoder, decoder, self.latent_dims[-1], **kwargs)

        # === Layers ===
        dense = keras.layers.Dense
        levels = len(self.latent_dims)
        self.bottom_up = [
            dense(hidden_units, activation=activation, name=f"bottom_up_{i}")
            for i in range(2, levels + 1)
        ]
        self.bottom_up_heads = [
            GaussianEncoderHead(dims[i], name=f"bottom_up_head_{i + 1}")
            for i in range(levels - 1)
        ]
        self.top_down = [
            dense(hidden_units, activation=activation, name=f"top_down_{i}")
            for i in range(1, levels)
        ]
        self.top_down_heads = [
            GaussianEncoderHead(dims[i], name=f"prior_head_{i + 1}")
            for i in range(levels - 1)
        ]

    def _extra_metrics(self):
        return tuple(f"kl_{i}" for i in range(1, len(self.latent_dims) + 1))

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
        if condition is not None:
            raise ValueError("`HierarchicalVAE` takes no condition.")
        return self._bottom_up_features(x, training)[-1]

    def _conditional_prior(self, level, z_above, training=None):
        """`p(z_level | z_above)`: `level` 0-based, below the top; `z_above`
        `(..., latent_dims[level + 1])`, any leading axes."""
        lead = tuple(z_above.shape[:-1])
        flat = ops.reshape(z_above, (-1, z_above.shape[-1]))
        hidden = self.top_down[level](flat, training=training)
        mean, log_var = self.top_down_heads[level](hidden)
        shape = lead + (self.latent_dims[level],)
        if None in lead:
            shape = tuple(ops.shape(z_above)[:-1]) + (self.latent_dims[level],)
        return distributions.Normal.from_log_var(
            ops.reshape(mean, shape), ops.reshape(log_var, shape)
        )

    def _merged_posterior(self, level, features, prior):
        """`q(z_level | x, z_above)`: the bottom-up Gaussian of the level
        (from `features` `(B, ...)`) and the top-down `prior` `(k, B, ...)`
        or `(B, ...)`, precision-weighted."""
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
        """As `VAE._terms`, over every level: `kl` (B,) the sum of the
        levels' KLs, `kls` their list (bottom first), `zs` the draws of
        every level (bottom first, each `(k, B, dim)`), `log_pz` and
        `log_qz` (k, B) summed over the levels."""
        if condition is not None:
            raise ValueError("`HierarchicalVAE` takes no condition.")
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
        self._step_terms = (reconstruction, ops.mean(terms["kl"]), kl_means)
        params = terms["params"]
        if self.num_samples == 1:
            return params[0]
        return ops.moveaxis(params, 0, 1)

    # ------------------------------------------------------------------
    # The numpy API, through the levels.

    def _bottom_code(self, z_top, seed=None):
        """The bottom level's code under `z_top`: each level the mean of
        its conditional prior, or with a `seed`, a draw of it."""
        z = ops.convert_to_tensor(z_top)
        for level in reversed(range(len(self.latent_dims) - 1)):
            prior = self._conditional_prior(level, z)
            z = prior.mean() if seed is None else prior.sample(seed=seed)
        return z

    def _decoder_output(self, z, condition=None, training=None):
        # A top-level code (from `decode`), through the priors' means.
        if condition is not None:
            raise ValueError("`HierarchicalVAE` takes no condition.")
        return self.decoder(self._bottom_code(z), training=training)

    def _decode_params(self, z, training=None, condition=None):
        # From `_terms`: the bottom level's draws (k, B, latent_dims[0]).
        k = z.shape[0]
        params = self.decoder(
            ops.reshape(z, (-1, self.latent_dims[0])), training=training
        )
        shape = (k, ops.shape(z)[1]) + tuple(params.shape[1:])
        return ops.reshape(params, shape)

    def _sample(self, num_samples, seed, batch_size, condition=None):
        num_samples = _validation.positive_int("num_samples", num_samples)
        if not isinstance(seed, keras.random.SeedGenerator):
            seed = _validation.seed("seed", seed)
            generator = (
                self.prior_seed_generator
                if seed is None
                else keras.random.SeedGenerator(seed)
            )
        else:
            generator = seed
        z_top = self._prior(training=False).sample(
            seed=generator, sample_shape=(num_samples,)
        )
        z_top = np.asarray(ops.convert_to_numpy(z_top), "float32")
        return self._batched(
            lambda z: self._mean_of_likelihood(
                self.decoder(self._bottom_code(z, generator), training=False)
            ),
            z_top,
            batch_size,
        )

    def _reconstruct(self, x, condition, sample, batch_size):
        seed = self.sampler.seed_generator if sample else None

        def step(batch, _):
            features = self._bottom_up_features(batch, training=False)
            q = self.encoder_head(features[-1])
            z = q.sample(seed=seed) if sample else q.mean()
            for level in reversed(range(len(self.latent_dims) - 1)):
                prior = self._conditional_prior(level, z)
                q = self._merged_posterior(level, features[level], prior)
                z = q.sample(seed=seed) if sample else q.mean()
            return self._mean_of_likelihood(self.decoder(z, training=False))

        return self._batched(step, (x, None), batch_size)

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
