import math

import keras
import numpy as np

from keras_vae.layers.reparam_sampling import ReparamSampling


class ImportanceWeights(keras.Model):
    """Log importance weights of a VAE, `samples_per_step` per example.

    An internal model that shares the VAE's layers and weights. Its `call`
    maps a batch `(B, ...)` to `log p(x|z) + log p(z) - log q(z|x)` for
    `samples_per_step` fresh draws `z ~ q(z|x)`, shape
    `(B, samples_per_step)`, so that `predict` runs it compiled
    (`tf.function`, `jax.jit`) and batched. `VAE.log_likelihood` uses it.

    Args:
        vae: the `keras_vae.VAE` whose weights to use.
        samples_per_step: int. Samples per example per call.
        seed: int or None. Seed of the importance samples.
    """

    def __init__(self, vae, samples_per_step, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.vae = vae
        self.samples_per_step = samples_per_step
        self.sampler = ReparamSampling(
            num_samples=samples_per_step,
            kl_weight=0.0,
            seed=seed,
            dtype=vae.dtype_policy,
        )

    def call(self, x):
        mean, log_var = self.vae._encode(x, training=False)
        z = self.sampler([mean, log_var], training=True)
        if self.samples_per_step == 1:
            z = keras.ops.expand_dims(z, 1)
        params = self.vae._decode_params(z, training=False)
        log_w, _ = self.vae._log_weights(x, mean, log_var, z, params)
        return log_w

    def log_likelihood(self, x, num_samples, batch_size, verbose="auto"):
        """Estimates `log p(x)` with `num_samples` samples per example.

        Returns:
            A float64 numpy array `(len(x),)`.
        """
        steps = math.ceil(num_samples / self.samples_per_step)
        progbar = None
        if verbose not in (0, False):
            progbar = keras.utils.Progbar(
                steps * math.ceil(len(x) / batch_size),
                unit_name="batch",
            )
        total = np.full((len(x),), -np.inf)
        done = 0
        for _ in range(steps):
            take = min(self.samples_per_step, num_samples - done)
            log_w = self.predict(x, batch_size=batch_size, verbose=0)
            log_w = np.asarray(log_w[:, :take], dtype="float64")
            total = np.logaddexp(total, _logsumexp(log_w))
            done += take
            if progbar is not None:
                progbar.add(
                    math.ceil(len(x) / batch_size),
                    values=[("nll", -np.mean(total - math.log(done)))],
                )
        return total - math.log(num_samples)


def _logsumexp(a):
    peak = np.max(a, axis=1, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0.0)
    return np.log(np.sum(np.exp(a - peak), axis=1)) + peak[:, 0]
