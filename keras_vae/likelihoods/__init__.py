"""Likelihoods: the decoder's output distribution `p(x|z)`.

`get(identifier)` turns a string (`"bernoulli"`, `"gaussian"`,
`"gaussian_learned"`, `"gaussian_predicted"`, `"categorical"`,
`"discretized_logistic_mixture"`, `"poisson"`), a config dict or an object
into a `Likelihood` layer; `VAE(likelihood=...)` goes through it.
"""

from keras_vae.likelihoods.bernoulli import Bernoulli
from keras_vae.likelihoods.categorical import Categorical
from keras_vae.likelihoods.discretized_logistic_mixture import (
    DiscretizedLogisticMixture,
)
from keras_vae.likelihoods.gaussian import Gaussian
from keras_vae.likelihoods.likelihood import Likelihood
from keras_vae.likelihoods.likelihood import get
from keras_vae.likelihoods.likelihood import serialize
from keras_vae.likelihoods.poisson import Poisson

__all__ = [
    "Bernoulli",
    "Categorical",
    "DiscretizedLogisticMixture",
    "Gaussian",
    "Likelihood",
    "Poisson",
    "get",
    "serialize",
]
