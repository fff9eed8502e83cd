"""Distributions over tensors, on every Keras backend.

Plain objects built from tensors (a layer's outputs), with `sample`,
`log_prob` (summed over the event axes), `sample_and_log_prob` and
`mean`, in float32; and `kl_divergence`, exact for the pairs with a
registered closed form (`register_kl`), a Monte Carlo estimate otherwise.
"""

from keras_vae.distributions.bernoulli import Bernoulli
from keras_vae.distributions.distribution import Distribution
from keras_vae.distributions.kl import has_closed_form
from keras_vae.distributions.kl import kl_divergence
from keras_vae.distributions.kl import register_kl
from keras_vae.distributions.mixture import MixtureSameFamily
from keras_vae.distributions.normal import Normal
from keras_vae.distributions.transformed import Transformed

__all__ = [
    "Bernoulli",
    "Distribution",
    "MixtureSameFamily",
    "Normal",
    "Transformed",
    "has_closed_form",
    "kl_divergence",
    "register_kl",
]
