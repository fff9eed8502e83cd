"""Saves the state of a layer's own seed generators with its variables.

Keras saves a layer's trainable and non-trainable variables but not the
state of its `keras.random.SeedGenerator`s, so a reloaded model, or a
training run resumed from a checkpoint, would draw its noise from the
start again. Layers that own random state mix this in: the states are
stored next to the variables (`.keras` files and `.weights.h5`
checkpoints alike) and restored on load. Files without them still load.
"""

import keras
import numpy as np

_PREFIX = "seed_generator_state_"


class SeedStateMixin:
    """Mixin for a `keras.layers.Layer` owning `keras.random.SeedGenerator`s."""

    def save_own_variables(self, store):
        super().save_own_variables(store)
        for i, generator in enumerate(self._seed_generators):
            store[f"{_PREFIX}{i}"] = np.asarray(
                keras.ops.convert_to_numpy(generator.state.value)
            )

    def load_own_variables(self, store):
        keys = list(store.keys())
        for i, generator in enumerate(self._seed_generators):
            key = f"{_PREFIX}{i}"
            if key in keys:
                generator.state.assign(np.asarray(store[key]))
        variables = {k: store[k] for k in keys if not k.startswith(_PREFIX)}
        super().load_own_variables(variables)
