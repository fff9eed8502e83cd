"""The KL warm-up counter shared by `ReparamSampling` and `VAE`."""

from keras_vae import ops as vae_ops


class KLWarmupMixin:
    """Mixin for a layer with a `kl_warmup_steps` attribute.

    The counter is an int32 non-trainable variable `kl_step`, saved with the
    layer's weights so that a reloaded or resumed model continues its
    warm-up where it was; under a distribution strategy only the first
    replica's count is kept.
    """

    def _add_kl_step(self):
        if self.kl_warmup_steps > 0:
            self.kl_step = self.add_weight(
                name="kl_step",
                shape=(),
                dtype="int32",
                initializer="zeros",
                trainable=False,
                aggregation="only_first_replica",
            )

    def _warmed_up(self, weight):
        """`weight` times the warm-up ramp, a float32 scalar tensor."""
        step = self.kl_step if self.kl_warmup_steps > 0 else 0
        return vae_ops.linear_warmup(step, self.kl_warmup_steps, weight)

    def _advance_kl_step(self, training):
        if training and self.kl_warmup_steps > 0:
            self.kl_step.assign(self.kl_step + 1)
