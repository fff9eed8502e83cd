"""Continues training a preset on new data: `finetune` and `with_kl_warmup`.

`VAE.from_preset` returns the model as it was published: uncompiled (no
optimizer, so nothing of the original run's optimizer state), and with its
KL warm-up counter where training left it, that is at its end: a preset
trained with warm-up continues with the full KL weight. `finetune`
compiles it with a fresh Adam optimizer (cosine decay from
`learning_rate` to a tenth of it) and trains it with the same resumable,
checkpointed loop as `train`; `with_kl_warmup` restarts the warm-up
deliberately, e.g. when the new data is far from the old.
"""

import os

import keras

from keras_vae import _validation
from keras_vae.training import configs
from keras_vae.training import distributed
from keras_vae.training import run as _run

FINETUNED_SUFFIX = "_finetuned"


def with_kl_warmup(vae, steps):
    """A copy of `vae` whose KL weight warms up again over `steps` steps.

    The copy has the same config and weights as `vae`, except that its
    `kl_warmup_steps` is `steps` and its warm-up counter starts at 0: the
    KL weight of its next training steps grows linearly from 0 to `beta`
    over `steps` steps (`steps=0`: no warm-up, the full weight at once).
    `vae` itself is left as it is. The copy is uncompiled.

    Args:
        vae: a `keras_vae.VAE` (or a subclass), built, e.g. from
            `from_preset`.
        steps: int >= 0. Training steps of the new warm-up.

    Returns:
        A new, uncompiled model of the same class.

    Raises:
        ValueError: `steps` is not a non-negative integer, or `vae` has no
            KL term to warm up (a `VQVAE`) or is not built.

    Example:

    ```python
    import keras
    import keras_vae
    from keras_vae.training import with_kl_warmup

    vae = keras_vae.VAE.from_preset("mnist_mlp_2")
    print(float(vae.current_kl_weight()))  # 1.0: its warm-up is over.
    vae = with_kl_warmup(vae, steps=1000)
    print(float(vae.current_kl_weight()))  # 0.0, then up to 1 in 1000 steps.
    vae.compile(optimizer=keras.optimizers.Adam(1e-4))
    ```
    """
    steps = _validation.non_negative_int("steps", steps)
    if not hasattr(vae, "kl_warmup_steps"):
        raise ValueError(
            f"`with_kl_warmup` restarts the warm-up of a KL term, which a "
            f"{type(vae).__name__} does not have. Received: vae={vae.name!r}"
        )
    if not vae.built:
        raise ValueError(
            "`with_kl_warmup` copies the weights of a built model: call the "
            f"model on a batch first. Received: vae={vae.name!r} (not built)"
        )
    config = keras.saving.serialize_keras_object(vae)
    config.pop("compile_config", None)
    config["config"]["kl_warmup_steps"] = steps
    copy = keras.saving.deserialize_keras_object(config, safe_mode=True)
    copy(copy._dummy_inputs(vae._encoder_input_shape()[1:]))

    def weights(model):  # Every weight but the warm-up counter.
        kl_step = getattr(model, "kl_step", None)
        return [w for w in model.weights if w is not kl_step]

    for source, target in zip(weights(vae), weights(copy), strict=True):
        if tuple(source.shape) != tuple(target.shape):
            raise ValueError(  # An architecture that rebuilds differently.
                f"`with_kl_warmup` cannot copy {source.path} (shape "
                f"{tuple(source.shape)}) onto {target.path} (shape "
                f"{tuple(target.shape)})."
            )
        target.assign(source)
    if hasattr(vae, "preset_metadata"):
        copy.preset_metadata = vae.preset_metadata
    return copy


def default_workdir(preset):
    """`<runs directory>/<preset name>_finetuned`, as `train`'s."""
    name = os.path.basename(os.path.normpath(str(preset)))
    return _run.default_workdir(name + FINETUNED_SUFFIX)


def finetune(
    preset,
    workdir=None,
    epochs=10,
    dataset=None,
    split="train",
    batch_size=128,
    learning_rate=1e-4,
    kl_warmup_steps=None,
    seed=0,
    verbose="auto",
    tensorboard=True,
    command=None,
    distribute=False,
):
    """Continues training a preset on a data set of keras_vae, resumably.

    The preset's model (`VAE.from_preset`: its weights, uncompiled, its
    warm-up over) is compiled with a new Adam optimizer whose learning rate
    decays by a cosine from `learning_rate` to a tenth of it over the run,
    and trained on `split` of `dataset` with dynamic binarization, epoch by
    epoch, with a checkpoint and `state.json` in `workdir` after each, as
    `train` does: the same call resumes a killed run, and refuses to
    resume one started with other settings.

    Args:
        preset: str. A preset name or a preset directory.
        workdir: str or None. Checkpoints and logs; None means
            `default_workdir(preset)` (`~/.cache/keras_vae/runs/
            <name>_finetuned`).
        epochs: int >= 1. Epochs of the run.
        dataset: str or None. `"mnist"` or `"fashion_mnist"`; None means the
            preset's own data set.
        split: str. The training split, e.g. `"train[:10000]"`.
        batch_size: int >= 1.
        learning_rate: float > 0. The initial learning rate; a preset's
            own runs started at 1e-3, so a smaller one keeps more of what
            it learnt.
        kl_warmup_steps: int >= 0 or None. None continues with the
            preset's KL weight (its warm-up is over); an integer restarts
            the warm-up over that many steps (`with_kl_warmup`).
        seed: int. The seed of the data order, binarization and noise.
        verbose: "auto", 0, 1 or 2. Keras progress bars.
        tensorboard: bool. Scalars and image grids in `<workdir>/logs`.
        command: str or None. The command recorded in `state.json`.
        distribute: bool. Train data-parallel over every device (see
            `keras_vae.training.run.distribution_scope`); implied on
            several processes (`keras_vae.training.distributed`).

    Returns:
        The fine-tuned model (also in `<workdir>/checkpoint.keras`, with
        its optimizer; `save_to_preset` makes it a preset).

    Raises:
        keras_vae.presets.PresetError: the preset is unknown or damaged.
        keras_vae.training.RunSettingsError: a bad setting, a conditional
            preset (train it in Python, with its labels), or a run in
            `workdir` started with other settings.
        keras_vae.training.RunFileError: a damaged checkpoint or state.

    Example:

    ```python
    import tempfile

    from keras_vae.training import finetune

    # Two epochs of mnist_mlp_2 on 512 Fashion-MNIST images.
    vae = finetune(
        "mnist_mlp_2",
        workdir=tempfile.mkdtemp(),
        epochs=2,
        dataset="fashion_mnist",
        split="train[:512]",
        tensorboard=False,
        verbose=0,
    )
    ```
    """
    from keras_vae.models.conditional_vae import ConditionalVAE
    from keras_vae.models.vae import VAE
    from keras_vae.presets import read_metadata
    from keras_vae.presets import resolve

    try:
        batch_size = _validation.positive_int("batch_size", batch_size)
        learning_rate = _validation.positive_float(
            "learning_rate", learning_rate
        )
        if kl_warmup_steps is not None:
            kl_warmup_steps = _validation.non_negative_int(
                "kl_warmup_steps", kl_warmup_steps
            )
    except ValueError as e:
        raise _run.RunSettingsError(str(e)) from None
    directory = resolve(preset)
    metadata = read_metadata(directory)
    dataset = dataset or metadata.get("dataset")
    if dataset is None:
        raise _run.RunSettingsError(
            f"preset {preset!r} names no data set in its metadata: pass "
            "`dataset` ('mnist' or 'fashion_mnist')."
        )
    name = metadata.get("name") or os.path.basename(directory)
    workdir = workdir or default_workdir(name)
    config = configs.PresetConfig(
        name=name + FINETUNED_SUFFIX,
        description=f"{name}, fine-tuned on {dataset} ({split})",
        dataset=dataset,
        architecture="preset",
        latent_dim=int(metadata.get("latent_dim") or 0),
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        final_learning_rate=learning_rate / 10,
        seed=seed,
        train_split=split,
    )
    vae = None
    if not os.path.lexists(os.path.join(workdir, _run.CHECKPOINT)):
        # A new run: the preset is loaded (and checked) before any work.
        vae = VAE.from_preset(preset)
        if isinstance(vae, ConditionalVAE):
            raise _run.RunSettingsError(
                f"preset {preset!r} is a ConditionalVAE, whose training data "
                "are images with their labels: fine-tune it in Python, "
                "`vae.compile(...)` then `vae.fit((x, labels))`."
            )
        if kl_warmup_steps is not None:
            vae = with_kl_warmup(vae, kl_warmup_steps)

    def build(total_steps):
        model = vae
        if distribute or distributed.process_count() > 1:
            # Loaded again inside the distribution's scope, which lays
            # its weights out on every device.
            model = VAE.from_preset(preset)
            if kl_warmup_steps is not None:
                model = with_kl_warmup(model, kl_warmup_steps)
        _run.compile_vae(model, config, total_steps=total_steps)
        return model

    if command is None:
        command = (
            f"keras_vae.training.finetune({str(preset)!r}, epochs={epochs}, "
            f"dataset={dataset!r}, split={split!r}, batch_size={batch_size}, "
            f"learning_rate={learning_rate!r}, kl_warmup_steps="
            f"{kl_warmup_steps!r}, seed={seed})"
        )
    return _run.run(
        config,
        build,
        workdir=workdir,
        epochs=epochs,
        split=split,
        verbose=verbose,
        tensorboard=tensorboard,
        command=command,
        distribute=distribute,
        settings={
            "from_preset": str(preset),
            "dataset": dataset,
            "batch_size": batch_size,
            "learning_rate": learning_rate,
            "kl_warmup_steps": kl_warmup_steps,
            "seed": seed,
        },
        started=f"from the preset {preset}",
    )
