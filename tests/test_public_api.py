"""Every public name imports, and every public class is registered for
serialization under the "keras_vae" package."""

import importlib
import inspect

import keras
import pytest

import keras_vae

# Names and registrations, the same on every backend (tests/conftest.py).
pytestmark = pytest.mark.backend_independent

MODULES = [
    "keras_vae",
    "keras_vae.callbacks",
    "keras_vae.datasets",
    "keras_vae.distributions",
    "keras_vae.evaluation",
    "keras_vae.export",
    "keras_vae.layers",
    "keras_vae.likelihoods",
    "keras_vae.losses",
    "keras_vae.objectives",
    "keras_vae.ops",
    "keras_vae.posteriors",
    "keras_vae.presets",
    "keras_vae.priors",
    "keras_vae.testing",
    "keras_vae.utils",
]


@pytest.mark.parametrize("module_name", MODULES)
def test_public_names_import(module_name):
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
    assert names, module_name
    for name in names:
        assert getattr(module, name) is not None, f"{module_name}.{name}"


@pytest.mark.parametrize(
    "cls",
    [
        keras_vae.VAE,
        keras_vae.ConditionalVAE,
        keras_vae.HierarchicalVAE,
        keras_vae.VQVAE,
        keras_vae.layers.VectorQuantizer,
        keras_vae.objectives.ELBO,
        keras_vae.objectives.IWAE,
        keras_vae.objectives.BetaTCVAE,
        keras_vae.objectives.MMD,
        keras_vae.layers.GaussianEncoderHead,
        keras_vae.layers.ReparamSampling,
        keras_vae.likelihoods.Bernoulli,
        keras_vae.likelihoods.Gaussian,
        keras_vae.priors.StandardNormal,
        keras_vae.priors.MixtureOfGaussians,
        keras_vae.priors.VampPrior,
        keras_vae.posteriors.InverseAutoregressiveFlow,
        keras_vae.losses.NegativeLogLikelihood,
        keras_vae.posteriors.DiagonalGaussian,
    ],
)
def test_registered_for_serialization(cls):
    name = keras.saving.get_registered_name(cls)
    assert name == f"keras_vae>{cls.__name__}"
    assert keras.saving.get_registered_object(name) is cls


def test_top_level_api():
    assert set(keras_vae.__all__) >= {
        "VAE",
        "ConditionalVAE",
        "HierarchicalVAE",
        "VQVAE",
        "layers",
        "objectives",
        "ops",
        "__version__",
    }
    assert inspect.isclass(keras_vae.VAE)
    assert keras_vae.__version__.count(".") == 2
