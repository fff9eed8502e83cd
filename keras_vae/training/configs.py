"""One training configuration per preset.

Each preset was produced by exactly `python -m zoo.train <name>` with the
configuration below (the command is also written into the preset's
metadata.json); `python -m zoo.evaluate <name>` and
`python -m zoo.publish <name>` then evaluate and publish it.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class PresetConfig:
    """How one preset is built and trained.

    Attributes:
        name: str. Preset name.
        description: str. One line for `keras-vae list` and the model card.
        dataset: str. `"mnist"` or `"fashion_mnist"`.
        architecture: str. A key of `keras_vae.training.ARCHITECTURES`.
        architecture_kwargs: dict. Arguments of the architecture builder.
        latent_dim: int. The decoder's input: the latent size of a `VAE`,
            the bottom level's of a `HierarchicalVAE`.
        model: str. `"vae"` (`keras_vae.VAE`), `"hierarchical"`
            (`keras_vae.HierarchicalVAE`, with `model_kwargs["latent_dims"]`
            starting with `latent_dim`), `"conditional"`
            (`keras_vae.ConditionalVAE.mlp` of the 10 classes, with
            `architecture_kwargs` its arguments) or `"vq"`
            (`keras_vae.VQVAE`; `latent_dim` is the size of a code).
        model_kwargs: dict. Further arguments of the model class.
        prior: dict or None. The (top level's) prior: a class of
            `keras_vae.priors` and its arguments, e.g. `{"class_name":
            "VampPrior", "config": {"num_components": 100}}`; None is the
            standard normal.
        objective: str. `"elbo"` or `"iwae"`.
        num_samples: int. Training samples per example.
        kl_warmup_steps: int.
        epochs: int.
        batch_size: int.
        learning_rate: float. Initial Adam learning rate.
        final_learning_rate: float. Reached by cosine decay at the end.
        seed: int. Seed of the weights, the noise and the data order.
        train_split: str. Split trained on.

    Example:

    ```python
    import dataclasses

    from keras_vae.training import get_config

    config = get_config("mnist_mlp_32")
    print(config.latent_dim, config.epochs, config.objective)
    quick = dataclasses.replace(config, name="quick", epochs=2)
    ```
    """

    name: str
    description: str
    dataset: str
    architecture: str
    latent_dim: int
    architecture_kwargs: dict = dataclasses.field(default_factory=dict)
    model: str = "vae"
    model_kwargs: dict = dataclasses.field(default_factory=dict)
    prior: dict = None
    objective: str = "elbo"
    num_samples: int = 1
    kl_warmup_steps: int = 0
    epochs: int = 100
    batch_size: int = 128
    learning_rate: float = 1e-3
    final_learning_rate: float = 1e-4
    seed: int = 0
    train_split: str = "train"


PRESETS = {
    config.name: config
    for config in (
        PresetConfig(
            name="mnist_mlp_32",
            description=(
                "The classic VAE: MLP encoder and decoder (784-1024-512), "
                "32-d latent, Bernoulli decoder, trained on the ELBO with "
                "KL warm-up."
            ),
            dataset="mnist",
            architecture="mlp",
            architecture_kwargs={"hidden": (1024, 512)},
            latent_dim=32,
            kl_warmup_steps=25 * 469,
            epochs=500,
            final_learning_rate=2e-5,
        ),
        PresetConfig(
            name="mnist_mlp_2",
            description=(
                "A 2-d latent MLP VAE on MNIST, to look at: the latent plane "
                "of digits."
            ),
            dataset="mnist",
            architecture="mlp",
            architecture_kwargs={"hidden": (512, 256)},
            latent_dim=2,
            epochs=100,
        ),
        PresetConfig(
            name="fashion_mnist_mlp_32",
            description=(
                "The classic MLP VAE (784-1024-512, 32-d latent, Bernoulli "
                "decoder, ELBO with KL warm-up) on Fashion-MNIST."
            ),
            dataset="fashion_mnist",
            architecture="mlp",
            architecture_kwargs={"hidden": (1024, 512)},
            latent_dim=32,
            kl_warmup_steps=25 * 469,
            epochs=200,
            final_learning_rate=2e-5,
        ),
        PresetConfig(
            name="mnist_conv",
            description=(
                "Convolutional encoder, MLP decoder (32-512-1024-784), 32-d "
                "latent, trained with the IWAE objective (k=5) and KL "
                "warm-up."
            ),
            dataset="mnist",
            architecture="conv_mlp",
            architecture_kwargs={"hidden": (1024, 512)},
            latent_dim=32,
            objective="iwae",
            num_samples=5,
            kl_warmup_steps=20 * 469,
            epochs=200,
            final_learning_rate=2e-5,
        ),
        PresetConfig(
            name="fashion_mnist_conv",
            description=(
                "Convolutional encoder, MLP decoder (32-512-1024-784), 32-d "
                "latent, IWAE (k=5) with KL warm-up, on Fashion-MNIST."
            ),
            dataset="fashion_mnist",
            architecture="conv_mlp",
            architecture_kwargs={"hidden": (1024, 512)},
            latent_dim=32,
            objective="iwae",
            num_samples=5,
            kl_warmup_steps=20 * 469,
            epochs=200,
            final_learning_rate=2e-5,
        ),
        PresetConfig(
            name="mnist_cvae",
            description=(
                "Conditional VAE: MLP encoder and decoder (784+10-512-256, "
                "8-d latent), one-hot labels on both sides, Bernoulli "
                "decoder, ELBO. `sample(n, condition=7)` draws sevens."
            ),
            dataset="mnist",
            model="conditional",
            architecture="mlp",
            architecture_kwargs={"hidden_units": (512, 256)},
            latent_dim=8,
            epochs=50,
        ),
        PresetConfig(
            name="mnist_vqvae",
            description=(
                "VQ-VAE: MLP encoder and decoder (784-512-256) around 16 "
                "codes per image from a codebook of 64 codes of size 8 "
                "(EMA updates, dead-code restarts), Bernoulli likelihood; "
                "an independent categorical prior per position, fitted on "
                "the training codes, for samples."
            ),
            dataset="mnist",
            model="vq",
            architecture="vq_mlp",
            latent_dim=8,
            model_kwargs={
                "num_embeddings": 64,
                "ema": True,
                "dead_code_threshold": 0.002,
            },
            epochs=50,
        ),
        PresetConfig(
            name="fashion_mnist_cvae",
            description=(
                "Conditional VAE on Fashion-MNIST: MLP encoder and decoder "
                "(784+10-512-256, 8-d latent), one-hot labels on both "
                "sides, Bernoulli decoder, ELBO. `sample(n, condition=7)` "
                "draws sneakers."
            ),
            dataset="fashion_mnist",
            model="conditional",
            architecture="mlp",
            architecture_kwargs={"hidden_units": (512, 256)},
            latent_dim=8,
            epochs=50,
        ),
    )
}


# Recipes still training toward their preset (published presets are in
# `PRESETS`, whose every entry has a preset in the package).
_FLAGSHIP = PresetConfig(
    name="mnist_vamp",
    description=(
        "The MNIST likelihood flagship: convolutional encoder, MLP "
        "decoder (40-512-1024-784), 40-d latent with a VampPrior "
        "(100 learned pseudo-inputs), IWAE (k=5) with KL warm-up."
    ),
    dataset="mnist",
    architecture="conv_mlp",
    architecture_kwargs={"hidden": (1024, 512)},
    latent_dim=40,
    prior={
        "class_name": "VampPrior",
        "config": {"num_components": 100},
    },
    objective="iwae",
    num_samples=5,
    kl_warmup_steps=50 * 469,
    epochs=600,
    final_learning_rate=2e-5,
)

IN_TRAINING = {
    config.name: config
    for config in (
        _FLAGSHIP,
        # The same recipe on Fashion-MNIST.
        dataclasses.replace(
            _FLAGSHIP,
            name="fashion_mnist_vamp",
            dataset="fashion_mnist",
            description=(
                "The flagship's recipe on Fashion-MNIST: convolutional "
                "encoder, MLP decoder (40-512-1024-784), 40-d latent with a "
                "VampPrior (100 learned pseudo-inputs), IWAE (k=5) with KL "
                "warm-up."
            ),
        ),
    )
}

RECIPES = {**PRESETS, **IN_TRAINING}
"""Every recipe of `python -m zoo.train`: the published presets' and those
still in training."""


def get_config(name):
    """Returns the `PresetConfig` of a preset, or raises a clear error.

    Args:
        name: str. A recipe of the zoo, a key of `RECIPES` (a published
            preset's, or one still in training).

    Returns:
        The preset's `PresetConfig`.

    Raises:
        ValueError: `name` is not a preset of the zoo (the message lists
            them).

    Example:

    ```python
    from keras_vae.training import PRESETS, get_config

    print(sorted(PRESETS))
    config = get_config("fashion_mnist_conv")
    print(config.dataset, config.architecture)
    ```
    """
    if name not in RECIPES:
        raise ValueError(
            f"Unknown preset: {name!r}. Known presets: "
            f"{', '.join(sorted(RECIPES))}"
        )
    return RECIPES[name]
