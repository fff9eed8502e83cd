"""`keras-vae train`: trains a preset of the zoo, or fine-tunes a preset."""

import argparse
import math
import shlex

from keras_vae.cli._common import PROG
from keras_vae.cli._common import CommandError
from keras_vae.cli._common import _builtin_directory
from keras_vae.cli._common import _check_workdir
from keras_vae.cli._common import _count
from keras_vae.cli._common import _dataset_of
from keras_vae.cli._common import _inspect_preset
from keras_vae.cli._common import _non_negative_int
from keras_vae.cli._common import _quote
from keras_vae.cli._common import _seed
from keras_vae.cli._common import _split
from keras_vae.cli._common import _split_size
from keras_vae.cli._common import _workdir

FINETUNE_EPOCHS = 10
FINETUNE_LEARNING_RATE = 1e-4


def _learning_rate(text):
    """An `argparse` type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(
            f"must be a number > 0, e.g. 1e-4. Received: {_quote(text)}"
        )
    return value


def train_command(args):
    """`keras-vae train PRESET`: trains (or resumes) a preset of the zoo.

    The same as `python -m zoo.train PRESET ...`, which is the command
    recorded in the run's state (and the published preset's metadata).
    With `--from-preset NAME` instead of `PRESET`, fine-tunes a published
    preset (`keras_vae.training.finetune`), and with `--save-preset DIR`
    saves the result as a preset that every command takes.

    Args:
        args: the parsed `argparse.Namespace`.

    Returns:
        The exit status, 0.

    Example:

    ```python
    from keras_vae.cli import main

    # One epoch of 512 images each: a quick try.
    main(["train", "mnist_mlp_2", "--epochs", "1", "--split", "train[:512]",
          "--workdir", "run"])
    main(["train", "--from-preset", "mnist_mlp_2", "--dataset",
          "fashion_mnist", "--split", "train[:512]", "--epochs", "1",
          "--workdir", "tuned", "--save-preset", "my_preset"])
    ```
    """
    if (args.preset is None) == (args.from_preset is None):
        raise CommandError(
            "name a preset of the zoo to train from scratch (`train NAME`) "
            "or a preset to fine-tune (`train --from-preset NAME`), not "
            f"{'both' if args.preset else 'neither'}. Received: PRESET="
            f"{args.preset!r}, --from-preset={args.from_preset!r}"
        )
    from keras_vae.training import distributed

    try:  # Before any computation: joins a run on several processes.
        distributed.initialize_from(args)
    except distributed.DistributedSettingsError as e:
        raise CommandError(str(e)) from None
    if args.from_preset is not None:
        return _finetune(args)
    finetuning = {
        "--dataset": args.dataset,
        "--learning-rate": args.learning_rate,
        "--kl-warmup-steps": args.kl_warmup_steps,
        "--save-preset": args.save_preset,
        "--batch-size": args.batch_size,
        "--seed": args.seed,
    }
    given = [o for o, value in finetuning.items() if value is not None]
    if given:
        raise CommandError(
            f"{given[0]} applies to fine-tuning (`--from-preset NAME`); a "
            f"preset of the zoo trains with its recipe. Received: "
            f"{given[0]}={finetuning[given[0]]}"
        )
    from keras_vae import training

    if args.preset not in training.RECIPES:
        raise CommandError(
            f"unknown preset {args.preset!r} to train: the zoo trains "
            f"{', '.join(sorted(training.RECIPES))} (a published preset or a "
            "preset directory is fine-tuned with --from-preset)."
        )
    config = training.get_config(args.preset)
    if args.workdir is None:
        _check_workdir(
            training.default_workdir(args.preset), "the work directory"
        )
    if args.split is not None and _split_size(config.dataset, args.split) == 0:
        raise CommandError(
            f"--split selects no images of {config.dataset}: nothing to "
            f"train on. Received: --split={_quote(args.split)}"
        )
    # The run records the equivalent `python -m zoo.train` command.
    zoo_argv = [args.preset]
    if args.workdir is not None:
        zoo_argv += ["--workdir", args.workdir]
    if args.epochs is not None:
        zoo_argv += ["--epochs", str(args.epochs)]
    if args.split is not None:
        zoo_argv += ["--split", args.split]
    if not args.tensorboard:
        zoo_argv += ["--no-tensorboard"]
    try:
        training.train(
            args.preset,
            workdir=args.workdir,
            epochs=args.epochs,
            split=args.split,
            tensorboard=args.tensorboard,
            command="python -m zoo.train " + shlex.join(zoo_argv),
        )
    except (training.RunSettingsError, training.RunFileError) as e:
        # Another run's settings, a damaged checkpoint...
        raise CommandError(str(e)) from None
    workdir = args.workdir or training.default_workdir(args.preset)
    print(f"Done: the checkpoint is in {workdir}.")
    return 0


def _finetune(args):
    """`keras-vae train --from-preset NAME`: `keras_vae.training.finetune`."""
    import os

    from keras_vae import training
    from keras_vae.presets import _preset_io
    from keras_vae.training.finetune import default_workdir

    epochs = FINETUNE_EPOCHS if args.epochs is None else args.epochs
    rate = args.learning_rate or FINETUNE_LEARNING_RATE
    batch_size = args.batch_size or 128
    seed = 0 if args.seed is None else args.seed

    metadata = _inspect_preset(args.from_preset)
    dataset = _dataset_of(metadata, args, args.from_preset)
    split = args.split or "train"
    if _split_size(dataset, split) == 0:
        raise CommandError(
            f"--split selects no images of {dataset}: nothing to train on. "
            f"Received: --split={_quote(split)}"
        )
    name = metadata.get("name") or os.path.basename(
        _builtin_directory(args.from_preset)
    )
    workdir = args.workdir or default_workdir(name)
    if args.workdir is None:
        _check_workdir(workdir, "the work directory")
    if args.save_preset is not None:
        try:  # Before training, not after: nothing of yours is replaced.
            _preset_io.check_target(os.path.abspath(args.save_preset))
        except _preset_io.PresetError as e:
            raise CommandError(f"--save-preset: {e}") from None
    argv = ["train", "--from-preset", args.from_preset, "--dataset", dataset]
    argv += ["--split", split, "--epochs", str(epochs), "--workdir", workdir]
    argv += ["--batch-size", str(batch_size), "--learning-rate", repr(rate)]
    argv += ["--seed", str(seed)]
    if args.kl_warmup_steps is not None:
        argv += ["--kl-warmup-steps", str(args.kl_warmup_steps)]
    try:
        vae = training.finetune(
            args.from_preset,
            workdir=workdir,
            epochs=epochs,
            dataset=dataset,
            split=split,
            batch_size=batch_size,
            learning_rate=rate,
            kl_warmup_steps=args.kl_warmup_steps,
            seed=seed,
            tensorboard=args.tensorboard,
            command=f"{PROG} {shlex.join(argv)}",
        )
    except (training.RunSettingsError, training.RunFileError) as e:
        raise CommandError(str(e)) from None
    print(f"Done: the checkpoint is in {workdir}.")
    if args.save_preset is not None:
        description = f"{name}, fine-tuned on {dataset} ({split})"
        directory = vae.save_to_preset(
            args.save_preset,
            metadata={
                "name": os.path.basename(os.path.normpath(args.save_preset)),
                "description": description,
                "dataset": dataset,
                "latent_dim": vae.latent_dim,
                "training": {
                    "command": f"{PROG} {shlex.join(argv)}",
                    "from_preset": args.from_preset,
                },
            },
        )
        print(
            f"Saved the preset {directory}: `{PROG} sample {directory} -o "
            "samples.png` draws from it."
        )
    return 0


def add_commands(commands):
    """Adds the sub-parser of `train` to `commands`."""
    p = commands.add_parser(
        "train",
        help="train a preset of the zoo, or fine-tune a preset",
        description="Train, or resume training, a preset of the zoo from "
        "its recipe (the same as `python -m zoo.train PRESET`); or, with "
        "--from-preset, continue training a published preset or a preset "
        "directory on a data set of keras_vae. Either run writes a "
        "checkpoint after every epoch and resumes from it when started "
        "again with the same command.",
    )
    p.add_argument(
        "preset",
        metavar="PRESET",
        nargs="?",
        help="a preset of the zoo to train from scratch: "
        f"`{PROG} list` shows them",
    )
    p.add_argument(
        "--from-preset",
        metavar="NAME",
        help="fine-tune this preset (a name or a preset directory) instead",
    )
    p.add_argument(
        "--epochs",
        type=_count,
        help="override the preset's number of epochs (fine-tuning: "
        f"default {FINETUNE_EPOCHS})",
    )
    p.add_argument(
        "--workdir",
        type=_workdir,
        help="checkpoints and logs (default: ~/.cache/keras_vae/runs/NAME, "
        "NAME_finetuned when fine-tuning)",
    )
    p.add_argument(
        "--split",
        type=_split,
        help="override the training split, e.g. 'train[:512]'",
    )
    p.add_argument(
        "--tensorboard",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="write TensorBoard logs (default: yes)",
    )
    tune = p.add_argument_group("fine-tuning (with --from-preset)")
    tune.add_argument(
        "--dataset",
        choices=("mnist", "fashion_mnist"),
        help="the data set to train on (default: the preset's)",
    )
    tune.add_argument(
        "--learning-rate",
        type=_learning_rate,
        help="initial Adam learning rate, decayed by a cosine to a tenth of "
        f"it (default: {FINETUNE_LEARNING_RATE:g})",
    )
    tune.add_argument(
        "--kl-warmup-steps",
        type=_non_negative_int,
        help="restart the KL warm-up over this many steps (default: the "
        "preset's warm-up is over, the full KL weight from the start)",
    )
    tune.add_argument(
        "--batch-size",
        type=_count,
        help="images per step (default: 128)",
    )
    tune.add_argument(
        "--seed",
        type=_seed,
        help="seed of the data order, binarization and noise (default: 0)",
    )
    tune.add_argument(
        "--save-preset",
        metavar="DIR",
        help="at the end, save the model as a preset in DIR (new or empty)",
    )
    from keras_vae.training.distributed import add_arguments

    add_arguments(p)
    p.set_defaults(function=train_command)
