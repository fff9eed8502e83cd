"""Likelihoods: the decoder's output distribution `p(x|z)`.

`get(identifier)` turns a string (`"bernoulli"`, `"gaussian"`,
`"gaussian_learned"`, ...), a config dict or an object into a
`Likelihood` layer; `VAE(likelihood=...)` goes through it.
"""

from keras_vae.likelihoods.bernoulli import Bernoulli
from keras_vae.likelihoods.gaussian import Gaussian
from keras_vae.likelihoods.likelihood import Likelihood
from keras_vae.likelihoods.likelihood import get
from keras_vae.likelihoods.likelihood import serialize

__all__ = [
    "Bernoulli",
    "Gaussian",
    "Likelihood",
    "get",
    "serialize",
]
