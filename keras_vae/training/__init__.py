"""Training presets, resumably: the zoo's recipes and fine-tuning.

- `train(name)`: trains a preset of the zoo from its recipe (`RECIPES`:
  the published presets' `PRESETS`, and those still `IN_TRAINING`),
  with a checkpoint after every epoch, so that a killed run resumes where
  it stopped (`keras-vae train NAME`, `python -m zoo.train NAME`).
- `finetune(preset)`: continues training a published preset on a data set
  of keras_vae, with the same checkpoints (`keras-vae train --from-preset
  NAME`).
- `with_kl_warmup(vae, steps)`: a copy of a model whose KL warm-up starts
  again.
"""

from keras_vae.training.architectures import ARCHITECTURES
from keras_vae.training.configs import IN_TRAINING
from keras_vae.training.configs import PRESETS
from keras_vae.training.configs import RECIPES
from keras_vae.training.configs import PresetConfig
from keras_vae.training.configs import get_config
from keras_vae.training.finetune import finetune
from keras_vae.training.finetune import with_kl_warmup
from keras_vae.training.run import RunFileError
from keras_vae.training.run import RunSettingsError
from keras_vae.training.run import default_workdir
from keras_vae.training.run import train

__all__ = [
    "ARCHITECTURES",
    "IN_TRAINING",
    "PRESETS",
    "RECIPES",
    "PresetConfig",
    "RunFileError",
    "RunSettingsError",
    "default_workdir",
    "finetune",
    "get_config",
    "train",
    "with_kl_warmup",
]
