import hashlib
import math
import os
import time

import keras
import numpy as np

from keras_vae.layers.reparam_sampling import ReparamSampling
from keras_vae.layers.reparam_sampling import _seed_state
from keras_vae.utils import atomic_write


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
        seed: int in [0, 2**32) or None. Seed of the importance samples.
    """

    def __init__(self, vae, samples_per_step, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.vae = vae
        self.samples_per_step = samples_per_step
        self.seed = seed
        self.sampler = ReparamSampling(
            num_samples=samples_per_step,
            kl_weight=0.0,
            seed=seed,
            dtype=vae.dtype_policy,
        )
        latent = (None, vae.latent_dim)
        self.sampler.build([latent, latent])
        # Built now: Keras's JAX `predict` would first run an unbuilt model
        # eagerly on a batch to build it (seconds of op-by-op compiles).
        self.built = True

    def build(self, input_shape):
        # The layers are the VAE's, built already; the sampler's seed
        # generator needs no shape. (Declared, so that Keras does not warn
        # about unbuilt state.)
        self.built = True

    def call(self, inputs):
        x, condition = self.vae._split_inputs(inputs)
        terms = self.vae._terms(
            x,
            self.samples_per_step,
            self.sampler.seed_generator,
            training=False,
            log_weights=True,
            condition=condition,
        )
        log_w = terms["log_px"] + terms["log_pz"] - terms["log_qz"]
        return keras.ops.transpose(log_w)  # (B, samples_per_step)

    def restart(self, seed):
        """Prepares a new estimate, reusing the compiled `predict`.

        An int `seed` restarts the noise from that seed's first draw, as a
        new model would. None carries on with the noise from where the
        previous estimate left it: new draws, though from the stream of
        that estimate's seed. The time of earlier, stopped calls is
        forgotten.
        """
        self.seed = seed
        self.seconds_before = 0.0
        if seed is not None:
            state = self.sampler.seed_generator.state
            # The state `keras.random.SeedGenerator(seed)` starts from.
            state.assign(_seed_state(seed, state.dtype))

    def log_likelihood(
        self,
        x,
        num_samples,
        batch_size,
        verbose="auto",
        progress_path=None,
        average=False,
        shard=None,
    ):
        """Estimates `log p(x)` with `num_samples` samples per example.

        With `progress_path`, the running sums and the state of the noise
        are saved there (atomically) after every step, and a call with the
        same file, data, weights and arguments continues from them: it
        returns what an uninterrupted call would have. The file is removed
        once the estimate is complete.

        Args:
            x: the data, an array, or a tuple of arrays (a conditional
                model's `(x, condition)`).
            average: bool. Average the log weights instead (the Monte Carlo
                estimate of the ELBO, with `num_samples` draws); without
                `progress_path`.
            shard: `(index, count)` or None. Estimate only share `index` of
                `count` (contiguous runs of whole batches), with exactly
                the draws the whole estimate gives those examples; without
                `progress_path` and `average`.

        Returns:
            A float64 numpy array `(len(x),)`; with `shard`, `(rows,
            values)`: the slice of the examples of the share, and their
            estimates.
        """
        if shard is not None:
            return self._shard(x, num_samples, batch_size, verbose, shard)
        if average:
            return self._average(x, num_samples, batch_size, verbose)
        examples = len(x[0] if isinstance(x, tuple) else x)
        steps = math.ceil(num_samples / self.samples_per_step)
        per_step = math.ceil(examples / batch_size)
        total = np.full((examples,), -np.inf)
        done = 0
        fingerprint = None
        if progress_path is not None:
            fingerprint = self._fingerprint(x, num_samples, batch_size)
            restored = _read_progress(progress_path, fingerprint)
            if restored is not None:
                total, done, state, self.seconds_before = restored
                self.sampler.seed_generator.state.assign(state)
        progbar = None
        if verbose not in (0, False):
            progbar = keras.utils.Progbar(steps * per_step, unit_name="batch")
            if done:
                progbar.update((done // self.samples_per_step) * per_step)
        began = time.time()
        while done < num_samples:
            take = min(self.samples_per_step, num_samples - done)
            log_w = self.predict(x, batch_size=batch_size, verbose=0)
            log_w = np.asarray(log_w[:, :take], dtype="float64")
            total = np.logaddexp(total, _logsumexp(log_w))
            done += take
            if progress_path is not None and done < num_samples:
                state = keras.ops.convert_to_numpy(
                    self.sampler.seed_generator.state.value
                )
                seconds = self.seconds_before + time.time() - began
                _write_progress(
                    progress_path, fingerprint, total, done, state, seconds
                )
            if progbar is not None:
                progbar.add(
                    per_step,
                    values=[("nll", -np.mean(total - math.log(done)))],
                )
        if progress_path is not None and os.path.exists(progress_path):
            os.remove(progress_path)
        return total - math.log(num_samples)

    seconds_before = 0.0
    """Wall time spent on the estimate by earlier, stopped calls."""

    def _shard(self, x, num_samples, batch_size, verbose, shard):
        """`log p(x)` of share `shard = (index, count)` of the examples.

        The whole estimate draws its noise batch after batch, the seed
        generator's state advancing by the same step at each batch: batch
        `j` of pass `c` (of `samples_per_step` samples) starts from
        `state_0 + (c * batches + j) * step`. A share sets that state
        before each of its batches, so that its examples get the draws the
        whole estimate gives them, whichever process computes them.
        """
        index, count = shard
        examples = len(x[0] if isinstance(x, tuple) else x)
        batches = math.ceil(examples / batch_size)
        first = index * batches // count
        last = (index + 1) * batches // count
        rows = slice(first * batch_size, min(last * batch_size, examples))
        state = self.sampler.seed_generator.state
        start = np.asarray(keras.ops.convert_to_numpy(state.value))

        def take(begin, end):
            if isinstance(x, tuple):
                return tuple(a[begin:end] for a in x)
            return x[begin:end]

        # The state's step per batch, from one batch (then restored).
        self.predict(
            take(0, min(batch_size, examples)),
            batch_size=batch_size,
            verbose=0,
        )
        step = np.asarray(keras.ops.convert_to_numpy(state.value)) - start
        total = np.full((rows.stop - rows.start,), -np.inf)
        passes = math.ceil(num_samples / self.samples_per_step)
        progbar = None
        if verbose not in (0, False):
            progbar = keras.utils.Progbar(
                passes * (last - first), unit_name="batch"
            )
        done = 0
        for c in range(passes):
            need = min(self.samples_per_step, num_samples - done)
            for j in range(first, last):
                state.assign(
                    (start + (c * batches + j) * step).astype(start.dtype)
                )
                begin = j * batch_size
                end = min(begin + batch_size, examples)
                log_w = self.predict(
                    take(begin, end), batch_size=batch_size, verbose=0
                )
                log_w = np.asarray(log_w[:, :need], dtype="float64")
                local = slice(begin - rows.start, end - rows.start)
                total[local] = np.logaddexp(total[local], _logsumexp(log_w))
                if progbar is not None:
                    progbar.add(1)
            done += need
        state.assign((start + passes * batches * step).astype(start.dtype))
        return rows, total - math.log(num_samples)

    def _average(self, x, num_samples, batch_size, verbose):
        """The mean log weight per example over `num_samples` draws."""
        examples = len(x[0] if isinstance(x, tuple) else x)
        steps = math.ceil(num_samples / self.samples_per_step)
        progbar = None
        if verbose not in (0, False):
            progbar = keras.utils.Progbar(
                steps * math.ceil(examples / batch_size), unit_name="batch"
            )
        total = np.zeros((examples,))
        done = 0
        while done < num_samples:
            take = min(self.samples_per_step, num_samples - done)
            log_w = self.predict(x, batch_size=batch_size, verbose=0)
            total += np.asarray(log_w[:, :take], dtype="float64").sum(axis=1)
            done += take
            if progbar is not None:
                progbar.add(
                    math.ceil(examples / batch_size),
                    values=[("elbo", np.mean(total / done))],
                )
        return total / num_samples

    def _fingerprint(self, x, num_samples, batch_size):
        """A digest of everything the estimate depends on."""
        digest = hashlib.sha256()
        arrays = x if isinstance(x, tuple) else (x,)
        for array in arrays:
            digest.update(np.ascontiguousarray(array).tobytes())
        for weight in self.vae.weights:
            value = np.asarray(keras.ops.convert_to_numpy(weight))
            digest.update(np.ascontiguousarray(value).tobytes())
        settings = (
            # (The shape of a VAE's data alone: earlier files still match.)
            tuple(a.shape for a in arrays) if isinstance(x, tuple) else x.shape,
            num_samples,
            batch_size,
            self.samples_per_step,
            self.seed,
        )
        digest.update(repr(settings).encode())
        return digest.hexdigest()


def _read_progress(path, fingerprint):
    """`(total, done, seed_state, seconds)` from `path`, or None if absent
    or made for other data, weights or arguments."""
    if not os.path.exists(path):
        return None
    with np.load(path) as saved:
        if str(saved["fingerprint"]) != fingerprint:
            return None
        return (
            saved["total"].copy(),
            int(saved["done"]),
            saved["seed_state"].copy(),
            float(saved["seconds"]),
        )


def _write_progress(path, fingerprint, total, done, state, seconds):
    with atomic_write(path, "wb") as f:
        np.savez(
            f,
            fingerprint=np.array(fingerprint),
            total=total,
            done=np.array(done),
            seed_state=np.asarray(state),
            seconds=np.array(seconds),
        )


def _logsumexp(a):
    peak = np.max(a, axis=1, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0.0)
    return np.log(np.sum(np.exp(a - peak), axis=1)) + peak[:, 0]
