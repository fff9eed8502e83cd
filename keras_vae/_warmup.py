"""The KL warm-up counter shared by `ReparamSampling` and `VAE`."""

import keras

from keras_vae import ops as vae_ops


class KLWarmupMixin:
    """Mixin for a layer with a `kl_warmup_steps` attribute.

    The counter is an int32 non-trainable variable `kl_step`, saved with the
    layer's weights so that a reloaded or resumed model continues its
    warm-up where it was.

    Under a `tf.distribute` strategy every replica keeps its own copy of the
    counter (`synchronization="on_read"`) and advances it at each of its
    training calls; all replicas take every step, so the copies agree, and
    a read outside the replicas (saving, `current_kl_weight()`) takes the
    first replica's (`aggregation="only_first_replica"`): it counts training
    steps, not steps times replicas. A mirrored counter (the default,
    `"on_write"`) would be wrong here: writing it from a replica stops that
    replica in the middle of `call` until every replica reaches the write
    (a `merge_call`), and `MirroredStrategy` then runs the other replicas'
    `call` in between, while a model's `add_loss` losses are one Python list
    shared by the replicas: the first replica's losses leaked into the
    second's total (a reported loss 1.5 times too high on two devices), or
    the second's replaced the first's (a wrong gradient).
    """

    def _add_kl_step(self):
        if self.kl_warmup_steps > 0:
            # `add_weight` cannot set `synchronization`; this is what it
            # does otherwise (the same path, `<layer>/kl_step`, and the same
            # place among the layer's weights, tracked by assignment).
            with keras.name_scope(self.name, caller=self):
                kl_step = keras.Variable(
                    initializer="zeros",
                    shape=(),
                    dtype="int32",
                    trainable=False,
                    aggregation="only_first_replica",
                    synchronization="on_read",
                    name="kl_step",
                )
            self.kl_step = kl_step

    def _warmed_up(self, weight):
        """`weight` times the warm-up ramp, a float32 scalar tensor."""
        step = self.kl_step if self.kl_warmup_steps > 0 else 0
        return vae_ops.linear_warmup(step, self.kl_warmup_steps, weight)

    def _advance_kl_step(self, training):
        if training and self.kl_warmup_steps > 0:
            self.kl_step.assign(self.kl_step + 1)
