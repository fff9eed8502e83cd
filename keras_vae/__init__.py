"""keras_vae: variational autoencoders for Keras 3.

Layers that drop into any Keras model (`keras_vae.layers`), a `VAE` model,
its probabilistic pieces (`keras_vae.distributions`, `likelihoods`,
`priors`, `posteriors`, and `losses` for your own models), backend-neutral
math (`keras_vae.ops`), MNIST and Fashion-MNIST
(`keras_vae.datasets`), pretrained presets (`keras_vae.presets`,
`VAE.from_preset`) and their evaluation (`keras_vae.evaluation`).
"""

from keras_vae import callbacks
from keras_vae import datasets
from keras_vae import distributions
from keras_vae import evaluation
from keras_vae import export
from keras_vae import layers
from keras_vae import likelihoods
from keras_vae import losses
from keras_vae import objectives
from keras_vae import ops
from keras_vae import posteriors
from keras_vae import presets
from keras_vae import priors
from keras_vae import utils
from keras_vae.models.conditional_vae import ConditionalVAE
from keras_vae.models.hierarchical_vae import HierarchicalVAE
from keras_vae.models.vae import VAE
from keras_vae.models.vq_vae import VQVAE
from keras_vae.version import __version__

__all__ = [
    "ConditionalVAE",
    "HierarchicalVAE",
    "VAE",
    "VQVAE",
    "__version__",
    "callbacks",
    "datasets",
    "distributions",
    "evaluation",
    "export",
    "layers",
    "likelihoods",
    "losses",
    "objectives",
    "ops",
    "posteriors",
    "presets",
    "priors",
    "utils",
]
