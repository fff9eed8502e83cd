"""The presets' training configurations: `keras_vae.training.configs`."""

from keras_vae.training.configs import PRESETS  # noqa: F401
from keras_vae.training.configs import PresetConfig  # noqa: F401
from keras_vae.training.configs import get_config  # noqa: F401
