"""Distributions over tensors, on every Keras backend.

Plain objects built from tensors (a layer's outputs), with `sample`,
`log_prob` (summed over the event axes), `sample_and_log_prob` and
`mean`, in float32; and `kl_divergence`, exact for the pairs with a
registered closed form (`register_kl`; built in: `Normal`, `Bernoulli`,
`Categorical` and `Poisson`, each against its own type), a Monte Carlo
estimate otherwise.
"""

from keras_vae.distributions.bernoulli import Bernoulli
from keras_vae.distributions.categorical import Categorical
from keras_vae.distributions.discretized_logistic_mixture import (
    DiscretizedLogisticMixture,
)
from keras_vae.distributions.distribution import Distribution
from keras_vae.distributions.kl import has_closed_form
from keras_vae.distributions.kl import kl_divergence
from keras_vae.distributions.kl import register_kl
from keras_vae.distributions.mixture import MixtureSameFamily
from keras_vae.distributions.normal import Normal
from keras_vae.distributions.poisson import Poisson
from keras_vae.distributions.transformed import Transformed
from keras_vae.distributions.unit_normal import UnitNormal

__all__ = [
    "Bernoulli",
    "Categorical",
    "DiscretizedLogisticMixture",
    "Distribution",
    "MixtureSameFamily",
    "Normal",
    "Poisson",
    "Transformed",
    "UnitNormal",
    "has_closed_form",
    "kl_divergence",
    "register_kl",
]
