import keras
import numpy as np
from keras import ops

from keras_vae import _validation
from keras_vae import distributions
from keras_vae import ops as vae_ops
from keras_vae import priors
from keras_vae._seed_state import SeedStateMixin
from keras_vae._warmup import KLWarmupMixin

_INFERENCE_MODES = ("sample", "mean")


def _seed_state(seed, dtype):
    """The state `[seed, 0]` of a seed generator, in its `dtype`.

    Seeds are 32-bit (see `keras_vae._validation.seed`); a backend whose
    seed dtype is int32 (torch) holds those from 2**31 up as their two's
    complement, which it reads back as the same 32 bits, as Keras does
    for an int `seed` argument: the noise is that of the seed.
    """
    return np.array([seed, 0], dtype="uint32").astype(dtype)


def _seed_generator(seed):
    """A `keras.random.SeedGenerator` for a checked `seed`, on every backend.

    `keras.random.SeedGenerator(seed)` itself overflows on torch for seeds
    from 2**31 up; for smaller seeds and None it is used as is.
    """
    if seed is None or seed < 2**31:
        return keras.random.SeedGenerator(seed)
    generator = keras.random.SeedGenerator(0)
    generator.state.assign(_seed_state(seed, generator.state.dtype))
    return generator


@keras.saving.register_keras_serializable(package="keras_vae")
class ReparamSampling(SeedStateMixin, KLWarmupMixin, keras.layers.Layer):
    """Draws `z ~ N(mean, exp(log_var))` with the reparametrization trick.

    The sample is written `z = mean + exp(0.5 * log_var) * eps` with
    `eps ~ N(0, I)` drawn from `keras.random`: the randomness sits in `eps`,
    which does not depend on the weights, so gradients flow through `mean`
    and `log_var` to the encoder. The noise comes from a
    `keras.random.SeedGenerator` owned by the layer, whose state is a
    variable: every call, eager or compiled (`jax.jit`, `tf.function`),
    draws fresh noise, and two layers built with the same `seed` draw the
    same noise on the same backend.

    Optionally the layer also adds the KL divergence from
    `q = N(mean, exp(log_var))` to the prior with `add_loss`, summed over
    the latent dimensions, averaged over the batch and multiplied by
    `kl_weight` (the beta of a beta-VAE). With the default prior `N(0, I)`
    it is the closed form. With another prior (`prior=`, e.g.
    `keras_vae.priors.MixtureOfGaussians`) it is the closed form where
    `keras_vae.distributions.has_closed_form(q, p)` says there is one, else
    the Monte Carlo estimate `log q(z) - log p(z)` on the drawn `z`
    (averaged over the `num_samples` draws; at inference with
    `inference="mean"`, on a draw made for it): unbiased, noisy, and
    differentiable through `z`. The prior is a sub-layer: its weights
    (a learnable mixture's means...) are this layer's trainable weights,
    trained by the KL, and saved with it. With `kl_warmup_steps > 0` the
    weight grows linearly from 0 to `kl_weight` over that many training
    calls (KL warm-up, or annealing); the step count is a non-trainable
    variable, so it is saved with the model and keeps counting after a
    reload. With `GaussianEncoderHead` before it, this makes the layer a
    drop-in replacement for `tfp.layers.IndependentNormal` +
    `tfp.layers.KLDivergenceAddLoss` (a diagonal Gaussian and its KL to a
    standard normal prior) in any Keras 3 model.

    Log-variances are clipped to `[-30, 20]` before use (see
    `keras_vae.ops.clip_log_var`), so even extreme inputs give finite
    samples and a finite KL.

    Args:
        num_samples: int. Samples drawn per input, default 1. With 1 the
            output has the shape of `mean`; with `k > 1` a sample axis is
            inserted after the batch axis: `(batch, k, ...)`.
        kl_weight: float >= 0. Weight of the KL term added with `add_loss`;
            0 adds no loss. Defaults to 1.0.
        kl_warmup_steps: int >= 0. Training calls over which the KL weight
            grows from 0 to `kl_weight`. Defaults to 0 (no warm-up).
        inference: str. What the layer returns when `training` is falsy:
            `"sample"` (default) draws as in training, `"mean"` returns the
            mean (repeated `num_samples` times if `num_samples > 1`), which
            makes inference deterministic.
        seed: int in [0, 2**32) or None. Seed of the layer's
            `SeedGenerator`; None draws a random one.
        prior: the prior `p(z)` of the KL term, a prior identifier
            (`keras_vae.priors.get`): None (default) for the standard
            normal `N(0, I)` in closed form, exactly as in earlier versions;
            a name such as `"standard_normal"`, a config dict, or a
            `keras_vae.priors.Prior` layer over `latent_dim` values. Priors
            that need the model's encoder (`requires_encoder`, the
            VampPrior) are refused: use `keras_vae.VAE(prior=...)`.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: a list or tuple `[mean, log_var]` of two tensors of the same
            shape `(batch, ...)`.
        training: bool. Whether the call is part of training; it decides
            between sampling and `inference`, and advances the warm-up.

    Input shape:
        Two tensors `(batch, latent_dim)` (any shape works, as long as both
        match; the KL sums over every non-batch axis). With a `prior`, the
        shape must be `(batch, latent_dim)`.

    Output shape:
        `(batch, latent_dim)` if `num_samples == 1`, else
        `(batch, num_samples, latent_dim)`.

    Example:

    ```python
    import keras
    import numpy as np
    import keras_vae

    inputs = keras.Input((16,))
    h = keras.layers.Dense(32, activation="relu")(inputs)
    mean, log_var = keras_vae.layers.GaussianEncoderHead(latent_dim=4)(h)
    z = keras_vae.layers.ReparamSampling(kl_weight=1.0, seed=0)(
        [mean, log_var]
    )
    outputs = keras.layers.Dense(16)(z)
    model = keras.Model(inputs, outputs)
    # -log p(x|z) summed over the 16 values, like the KL over the latent
    # dimensions ("mse" would average them: see keras_vae.losses).
    loss = keras_vae.losses.NegativeLogLikelihood("gaussian")
    model.compile(optimizer="adam", loss=loss)  # + KL, via add_loss
    x = np.random.rand(64, 16).astype("float32")
    model.fit(x, x, verbose=0)
    ```

    With a learnable prior (its weights become the layer's):

    ```python
    import numpy as np
    import keras_vae
    from keras_vae import priors

    layer = keras_vae.layers.ReparamSampling(
        prior=priors.MixtureOfGaussians(num_components=3), seed=0
    )
    mean = log_var = np.zeros((4, 2), "float32")
    z = layer([mean, log_var], training=True)  # (4, 2)
    kl = layer.losses[0]  # Monte Carlo: log q(z) - log p(z), batch mean
    len(layer.trainable_weights)  # 3: the mixture's means, variances, logits
    ```
    """

    def __init__(
        self,
        num_samples=1,
        kl_weight=1.0,
        kl_warmup_steps=0,
        inference="sample",
        seed=None,
        prior=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_samples = _validation.positive_int("num_samples", num_samples)
        self.kl_weight = _validation.non_negative_float("kl_weight", kl_weight)
        self.kl_warmup_steps = _validation.non_negative_int(
            "kl_warmup_steps", kl_warmup_steps
        )
        self.inference = _validation.one_of(
            "inference", inference, _INFERENCE_MODES
        )
        self.seed = _validation.seed("seed", seed)
        self.seed_generator = _seed_generator(self.seed)
        # None keeps the closed-form KL to N(0, I) of earlier versions (and
        # their saved files: no sub-layer).
        self.prior = None if prior is None else priors.get(prior)
        if self.prior is not None and self.prior.requires_encoder:
            raise ValueError(
                f"The prior {self.prior.name!r} "
                f"({type(self.prior).__name__}) needs the model's encoder "
                "(`requires_encoder`), which `ReparamSampling` does not "
                "have: it sees only the mean and log-variance. Use "
                "`keras_vae.VAE(prior=...)` for it. Received: "
                f"prior={prior!r}"
            )

    def _check_input_shapes(self, shapes):
        is_pair = isinstance(shapes, (list, tuple)) and len(shapes) == 2
        if not is_pair or not all(
            isinstance(shape, (list, tuple)) for shape in shapes
        ):
            count = len(shapes) if isinstance(shapes, (list, tuple)) else 1
            raise ValueError(
                "`ReparamSampling` expects a list of exactly two tensors, "
                f"[mean, log_var]. Received {count} input(s) of shape(s): "
                f"{shapes}"
            )
        mean_shape, log_var_shape = (tuple(shape) for shape in shapes)
        if mean_shape[1:] != log_var_shape[1:]:
            raise ValueError(
                "`mean` and `log_var` must have the same shape. Received: "
                f"mean.shape={mean_shape}, log_var.shape={log_var_shape}"
            )

    def build(self, input_shape):
        self._add_kl_step()
        if self.prior is not None:
            self._check_input_shapes(input_shape)
            mean_shape = tuple(input_shape[0])
            if len(mean_shape) != 2 or mean_shape[-1] is None:
                raise ValueError(
                    "With a `prior`, `ReparamSampling` takes latent vectors: "
                    "`mean` and `log_var` of shape (batch, latent_dim), "
                    "latent_dim known. Received: "
                    f"mean.shape={mean_shape}"
                )
            self.prior.setup(int(mean_shape[-1]))

    def current_kl_weight(self):
        """The KL weight in force now: `kl_weight` times the warm-up ramp.

        Returns:
            A float32 scalar tensor.

        Example:

        ```python
        import numpy as np
        import keras_vae

        layer = keras_vae.layers.ReparamSampling(
            kl_weight=2.0, kl_warmup_steps=10, seed=0
        )
        mean = log_var = np.zeros((4, 3), "float32")
        for _ in range(5):  # five training calls: half-way through warm-up
            layer([mean, log_var], training=True)
        float(layer.current_kl_weight())  # 1.0
        ```
        """
        return self._warmed_up(self.kl_weight)

    def call(self, inputs, training=None):
        if not isinstance(inputs, (list, tuple)):
            inputs = [inputs]
        self._check_input_shapes([tuple(x.shape) for x in inputs])
        mean, log_var = inputs
        mean = ops.cast(mean, "float32")
        log_var = vae_ops.clip_log_var(log_var)
        if self.num_samples > 1:
            mean = ops.expand_dims(mean, 1)
            log_var = ops.expand_dims(log_var, 1)
        sampled = training or self.inference == "sample"
        # The prior's KL estimate needs a draw even where the output is the
        # mean (inference="mean"), unless it has a closed form.
        kl, needs_draw = None, False
        if self.kl_weight > 0 and self.prior is not None:
            q = distributions.Normal.from_log_var(mean, log_var)
            p = self.prior.distribution()
            if distributions.has_closed_form(q, p):
                kl = distributions.kl_divergence(q, p)
            else:
                needs_draw = True
        if sampled or needs_draw:
            shape = ops.shape(mean)
            if self.num_samples > 1:
                shape = (shape[0], self.num_samples) + tuple(shape[2:])
            eps = vae_ops.normal_noise(shape, self.seed_generator)
            draw = mean + ops.exp(0.5 * log_var) * eps
        if sampled:
            z = draw
        elif self.num_samples > 1:
            z = ops.repeat(mean, self.num_samples, axis=1)
        else:
            z = mean
        if needs_draw:
            # log q(z) - log p(z), one value per draw: (batch,) or
            # (batch, num_samples), averaged over the draws.
            kl = q.log_prob(draw) - p.log_prob(draw)
            if self.num_samples > 1:
                kl = ops.mean(kl, axis=1)
        if self.kl_weight > 0:
            if kl is None:
                kl = vae_ops.kl_divergence_standard_normal(*inputs)
            elif self.num_samples > 1 and len(kl.shape) > 1:
                kl = kl[:, 0]  # A closed form, the same for every draw.
            self.add_loss(self.current_kl_weight() * ops.mean(kl))
            self._advance_kl_step(training)
        return ops.cast(z, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        self._check_input_shapes(input_shape)
        mean_shape = tuple(input_shape[0])
        if self.num_samples > 1:
            return (mean_shape[0], self.num_samples) + mean_shape[1:]
        return mean_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_samples": self.num_samples,
                "kl_weight": self.kl_weight,
                "kl_warmup_steps": self.kl_warmup_steps,
                "inference": self.inference,
                "seed": self.seed,
                "prior": (
                    None
                    if self.prior is None
                    else keras.saving.serialize_keras_object(self.prior)
                ),
            }
        )
        return config
