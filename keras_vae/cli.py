"""The `keras-vae` command line: look at, evaluate, compare and train presets.

Installed as the `keras-vae` console script (also `python -m keras_vae.cli`).
Every command takes a preset by name (`keras-vae list` shows them) or by the
path of a preset directory, and writes its images as PNG files, atomically.

    keras-vae list                                  # the presets, test NLLs
    keras-vae list --json
    keras-vae sample mnist_mlp_2 -n 64 -o samples.png
    keras-vae reconstruct mnist_mlp_2 -n 16 -o reconstructions.png
    keras-vae interpolate mnist_mlp_2 --from 0 --to 1 --steps 10 -o strip.png
    keras-vae evaluate mnist_mlp_2 -k 100 --limit 1000
    keras-vae evaluate path/to/my_preset --json
    keras-vae compare mnist_conv mnist_mlp_32 -k 1000  # paired, per image
    keras-vae train mnist_mlp_2 --epochs 5 --workdir /tmp/run

`reconstruct`, `interpolate`, `evaluate` and `compare` use the fixed
binarized test set of the preset's data set
(`keras_vae.datasets.load_binarized_test_set`).
`train` delegates to `zoo.train`, which is part of the repository but not of
the installed package: run it from a clone of the repository.

User errors (an unknown preset, a missing output directory, a bad number,
missing data...) print one `keras-vae: error: ...` line to stderr and exit
with status 2; an interrupted command exits with status 130.
"""

import argparse
import contextlib
import json
import os
import shlex
import sys

PROG = "keras-vae"


class CommandError(Exception):
    """A user error: printed as `keras-vae: error: <message>`, exit status 2.

    Raised with one argument, the message: what was wrong, naming the
    argument and the value received.
    """


# ----------------------------------------------------------------------
# Argument types and checks.


def _integer(minimum, requirement):
    """An `argparse` type: an integer >= `minimum`; `requirement` says so."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(
                f"must be {requirement}. Received: {text!r}"
            )
        return value

    return parse


_positive_int = _integer(1, "a positive integer")
_non_negative_int = _integer(0, "a non-negative integer")
_at_least_two = _integer(2, "an integer >= 2 (both ends included)")
_paired_limit = _integer(
    2, "an integer >= 2 (a paired standard error needs two images)"
)


def _is_writable(directory):
    return os.access(directory, os.W_OK | os.X_OK)


def check_output_path(path, option="-o/--output"):
    """Checks, before any work, that a PNG can be written at `path`.

    Args:
        path: str. The PNG file to write.
        option: str. The option that named it, for the error message.

    Returns:
        `path`.

    Raises:
        CommandError: `path` does not end in `.png`, is a directory, or its
            directory does not exist or is not writable.

    Example:

    ```python
    from keras_vae.cli import check_output_path

    check_output_path("grid.png")
    ```
    """
    if not path.lower().endswith(".png"):
        raise CommandError(
            f"{option} must name a .png file. Received: {option}={path!r}"
        )
    if os.path.isdir(path):
        raise CommandError(
            f"{option} is a directory, not a file. Received: {option}={path!r}"
        )
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        what = "does not exist (create it first)"
        if os.path.exists(directory):
            what = "is not a directory"
        raise CommandError(
            f"the output directory {directory!r} {what}. "
            f"Received: {option}={path!r}"
        )
    if not _is_writable(directory):
        raise CommandError(
            f"the output directory {directory!r} is not writable. "
            f"Received: {option}={path!r}"
        )
    return path


def _check_preset(preset):
    """Fails early, listing the known presets, if `preset` is neither."""
    from keras_vae.presets import builtin_presets

    names = builtin_presets()
    if preset in names and os.sep not in preset:
        return
    if os.path.isdir(preset):
        return
    known = ", ".join(names) if names else "none installed"
    raise CommandError(
        f"unknown preset {preset!r}: it is neither a preset of keras_vae "
        f"(known presets: {known}) nor a preset directory. "
        f"`{PROG} list` shows the presets."
    )


def _load_preset(preset):
    import keras_vae

    _check_preset(preset)
    try:
        return keras_vae.VAE.from_preset(preset)
    except ValueError as e:  # E.g. a model safe mode refuses to rebuild.
        raise CommandError(f"cannot load the preset {preset!r}: {e}") from None


def _dataset_of(vae, args, preset=None):
    if getattr(args, "dataset", None):
        return args.dataset
    dataset = vae.preset_metadata.get("dataset")
    if not dataset:
        raise CommandError(
            f"preset {preset or args.preset!r} names no data set in its "
            "metadata: "
            "pass --dataset mnist or --dataset fashion_mnist."
        )
    return dataset


def _test_images(vae, args):
    from keras_vae import datasets

    images, _ = datasets.load_binarized_test_set(_dataset_of(vae, args))
    return images


def _check_index(option, index, size):
    if not 0 <= index < size:
        raise CommandError(
            f"{option} must be an index into the {size} test images, from 0 "
            f"to {size - 1}. Received: {option}={index}"
        )
    return index


def _write(path, images, columns, scale, what):
    from keras_vae.utils import save_image_grid

    save_image_grid(path, images, columns=columns, scale=scale)
    from PIL import Image

    with Image.open(path) as image:
        width, height = image.size
    print(f"Wrote {what} to {path} ({width}x{height} pixels).")


# ----------------------------------------------------------------------
# The commands.


def list_command(args):
    """`keras-vae list [--json]`: the presets shipped with keras_vae.

    Args:
        args: the parsed `argparse.Namespace`.

    Returns:
        The exit status, 0.

    Example:

    ```python
    from keras_vae.cli import main

    main(["list"])
    ```
    """
    from keras_vae.presets import PRESETS_DIR
    from keras_vae.presets import list_presets

    presets = list_presets()
    if args.json:
        print(json.dumps(presets, indent=2))
        return 0
    if not presets:
        print(f"No presets installed (in {PRESETS_DIR}).")
        return 0
    header = ("NAME", "DATASET", "LATENT", "PARAMS", "TEST NLL (nats)")
    rows = [header]
    for preset in presets:
        metrics = preset["metrics"] or {}
        nll = metrics.get("nll")
        if nll is None:
            nll_text = "-"
        else:
            nll_text = f"{nll:.2f}"
            if metrics.get("num_importance_samples"):
                nll_text += f" (k={metrics['num_importance_samples']})"
        parameters = preset["parameters"]
        rows.append(
            (
                preset["name"],
                str(preset["dataset"] or "-"),
                str(preset["latent_dim"] or "-"),
                "-" if parameters is None else f"{parameters:,}",
                nll_text,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    noun = "preset" if len(presets) == 1 else "presets"
    print(f"\n{len(presets)} {noun} in {PRESETS_DIR}")
    return 0


def sample_command(args):
    """`keras-vae sample PRESET -o FILE`: a grid of samples from the prior.

    Args:
        args: the parsed `argparse.Namespace`.

    Returns:
        The exit status, 0.

    Example:

    ```python
    from keras_vae.cli import main

    assert main(["sample", "mnist_mlp_2", "-n", "64", "-o", "samples.png"]) == 0
    ```
    """
    check_output_path(args.output)
    vae = _load_preset(args.preset)
    images = vae.sample(args.num, seed=args.seed)
    _write(
        args.output,
        images,
        args.columns,
        args.scale,
        f"{args.num} samples of {args.preset}",
    )
    return 0


def reconstruct_command(args):
    """`keras-vae reconstruct PRESET -o FILE`: test images, reconstructed.

    Writes pairs side by side: each binarized test image, then the decoded
    mean of its posterior `q(z|x)`.

    Args:
        args: the parsed `argparse.Namespace`.

    Returns:
        The exit status, 0.

    Example:

    ```python
    from keras_vae.cli import main

    assert main(["reconstruct", "mnist_mlp_2", "-n", "16", "-o", "r.png"]) == 0
    ```
    """
    import numpy as np

    check_output_path(args.output)
    vae = _load_preset(args.preset)
    x = _test_images(vae, args)
    if args.num > len(x):
        raise CommandError(
            f"-n/--num must be at most the number of test images, {len(x)}. "
            f"Received: -n/--num={args.num}"
        )
    if args.seed is None:
        _check_index("--start", args.start, len(x))
        indices = np.arange(args.start, min(args.start + args.num, len(x)))
    else:
        rng = np.random.default_rng(args.seed)
        indices = np.sort(rng.choice(len(x), size=args.num, replace=False))
    x = x[indices]
    pairs = np.stack([x, vae.reconstruct(x)], axis=1)
    columns = 2 * min(args.columns, len(x))
    _write(
        args.output,
        pairs.reshape((2 * len(x),) + x.shape[1:]),
        columns,
        args.scale,
        f"{len(x)} test images and their reconstructions by {args.preset}",
    )
    return 0


def interpolate_command(args):
    """`keras-vae interpolate PRESET -o FILE`: a walk between two images.

    Encodes two test images, interpolates linearly between the means of
    their posteriors and decodes each point: the first and last images of
    the strip are the two reconstructions, framed by the originals (unless
    `--no-originals`).

    Args:
        args: the parsed `argparse.Namespace`.

    Returns:
        The exit status, 0.

    Example:

    ```python
    from keras_vae.cli import main

    main(["interpolate", "mnist_mlp_2", "--from", "0", "--to", "1",
          "-o", "strip.png"])
    ```
    """
    import numpy as np

    check_output_path(args.output)
    vae = _load_preset(args.preset)
    x = _test_images(vae, args)
    _check_index("--from", args.start, len(x))
    _check_index("--to", args.end, len(x))
    ends = x[[args.start, args.end]]
    mean, _ = vae.encode(ends)
    weights = np.linspace(0.0, 1.0, args.steps, dtype="float32")[:, None]
    z = (1.0 - weights) * mean[0] + weights * mean[1]
    images = vae.decode(z)
    if args.originals:
        images = np.concatenate([ends[:1], images, ends[1:]])
    _write(
        args.output,
        images,
        len(images),
        args.scale,
        f"an interpolation of {args.steps} steps from test image "
        f"{args.start} to {args.end} by {args.preset}",
    )
    return 0


def evaluate_command(args):
    """`keras-vae evaluate PRESET`: test NLL, ELBO, KL and reconstruction.

    The standard protocol of `keras_vae.evaluation.evaluate`: the fixed
    binarized test set, `-k` importance samples per image. The progress bar
    goes to stderr, the figures to stdout.

    Args:
        args: the parsed `argparse.Namespace`.

    Returns:
        The exit status, 0.

    Example:

    ```python
    from keras_vae.cli import main

    assert main(["evaluate", "mnist_mlp_2", "-k", "100", "--limit", "500"]) == 0
    ```
    """
    from keras_vae.evaluation import evaluate

    vae = _load_preset(args.preset)
    dataset = _dataset_of(vae, args)
    metrics = _estimate(evaluate, args, vae, dataset)
    metrics = {"preset": args.preset, **metrics}
    if args.json:
        print(json.dumps(metrics, indent=2))
        return 0
    print(f"{args.preset} on the {_protocol_line(metrics)}")
    error = metrics["nll_standard_error"]
    error = "" if error is None else f"+/- {error:.2f} "
    print(f"  NLL             {metrics['nll']:.2f} {error}nats")
    print(f"  ELBO            {metrics['elbo']:.2f} nats")
    print(f"  KL              {metrics['kl']:.2f} nats")
    print(f"  reconstruction  {metrics['reconstruction']:.2f} nats")
    published = (vae.preset_metadata.get("metrics") or {}).get("nll")
    if published is not None and dataset == vae.preset_metadata.get("dataset"):
        k = vae.preset_metadata["metrics"].get("num_importance_samples", "?")
        print(f"  (published NLL: {published:.2f}, k={k}, full test set)")
    return 0


def _estimate(function, args, *positional):
    """`evaluate` or `compare` with the likelihood options of `args`, its
    progress bars on stderr (stdout is for the figures)."""
    with contextlib.redirect_stdout(sys.stderr):
        return function(
            *positional,
            num_samples=args.num_samples,
            batch_size=args.batch_size,
            seed=args.seed,
            verbose=0 if args.quiet else "auto",
            limit=args.limit,
        )


def _protocol_line(result):
    """The estimate's header: `mnist test set (10,000 images, ...): ...`."""
    protocol = result["protocol"]
    images = protocol["num_images"]
    return (
        f"{protocol['dataset']} test set ({images:,} "
        f"image{'' if images == 1 else 's'}, fixed binarization), "
        f"k={protocol['num_importance_samples']}, backend "
        f"{protocol['backend']}, {result['seconds']} s:"
    )


def compare_command(args):
    """`keras-vae compare A B`: which of two presets models the test set better.

    The paired comparison of `keras_vae.evaluation.compare`: both presets'
    importance-weighted NLLs on the same test images, and the mean of the
    per-image differences with its standard error. The progress bars go to
    stderr, the figures to stdout.

    Args:
        args: the parsed `argparse.Namespace`.

    Returns:
        The exit status, 0.

    Example:

    ```python
    from keras_vae.cli import main

    argv = ["compare", "mnist_mlp_2", "mnist_mlp_32", "-k", "10"]
    assert main(argv + ["--limit", "100"]) == 0
    ```
    """
    from keras_vae.evaluation import compare

    vaes = [_load_preset(args.preset_a), _load_preset(args.preset_b)]
    names = [args.preset_a, args.preset_b]
    datasets = [_dataset_of(vae, args, name) for vae, name in zip(vaes, names)]
    if datasets[0] != datasets[1]:
        raise CommandError(
            f"presets {names[0]!r} and {names[1]!r} model different data "
            f"sets ({datasets[0]} and {datasets[1]}): pass --dataset to "
            "compare them on one test set."
        )
    result = _estimate(compare, args, *vaes, datasets[0])
    result = {"preset_a": names[0], "preset_b": names[1], **result}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    difference = result["difference"]
    error = result["difference_standard_error"]
    width = max(len(name) for name in names)
    print(_protocol_line(result))
    print(f"  NLL  {names[0]:<{width}}  {result['nll_a']:.2f} nats")
    print(f"  NLL  {names[1]:<{width}}  {result['nll_b']:.2f} nats")
    print(
        f"  difference (A - B), paired over the images: {difference:+.2f} "
        f"+/- {error:.2f} nats; A is better on "
        f"{100 * result['a_better_fraction']:.1f}%, B on "
        f"{100 * result['b_better_fraction']:.1f}% of the images"
    )
    if abs(difference) > 3 * error:
        better = names[0] if difference < 0 else names[1]
        print(f"  {better} is better (|difference| > 3 standard errors)")
    else:
        print("  no clear winner (|difference| <= 3 standard errors)")
    return 0


def _checkout_candidates():
    """Directories that may hold the repository's `zoo/` package."""
    import keras_vae

    package = os.path.dirname(os.path.abspath(keras_vae.__file__))
    return [os.getcwd(), os.path.dirname(package)]


def _import_zoo():
    """Imports `zoo.train` and `zoo.configs` from a repository checkout."""
    message = (
        f"`{PROG} train` needs the `zoo` package of the keras_vae repository, "
        "which is not installed with pip: run it from the root of a clone "
        "of the repository."
    )
    try:
        from zoo import configs
        from zoo import train
    except ModuleNotFoundError as e:
        if e.name not in ("zoo", "zoo.train", "zoo.configs"):
            raise
        for root in _checkout_candidates():
            if os.path.isfile(os.path.join(root, "zoo", "train.py")):
                sys.path.insert(0, root)
                break
        else:
            raise CommandError(message) from None
        try:
            from zoo import configs
            from zoo import train
        except ModuleNotFoundError as e:
            if e.name not in ("zoo", "zoo.train", "zoo.configs"):
                raise
            raise CommandError(message) from None
    return train, configs


def train_command(args):
    """`keras-vae train PRESET`: trains (or resumes) a preset of the zoo.

    The same as `python -m zoo.train PRESET ...`, which is the command
    recorded in the run's state (and the published preset's metadata).

    Args:
        args: the parsed `argparse.Namespace`.

    Returns:
        The exit status, 0.

    Example:

    ```python
    from keras_vae.cli import main

    main(["train", "mnist_mlp_2", "--epochs", "1", "--workdir", "run"])
    ```
    """
    train, configs = _import_zoo()
    if args.preset not in configs.PRESETS:
        raise CommandError(
            f"unknown preset {args.preset!r} to train: the zoo trains "
            f"{', '.join(sorted(configs.PRESETS))}."
        )
    if args.workdir is not None and os.path.isfile(args.workdir):
        raise CommandError(
            "--workdir must be a directory; it names a file. "
            f"Received: --workdir={args.workdir!r}"
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
        train.train(
            args.preset,
            workdir=args.workdir,
            epochs=args.epochs,
            split=args.split,
            tensorboard=args.tensorboard,
            command="python -m zoo.train " + shlex.join(zoo_argv),
        )
    except train.RunSettingsError as e:  # A bad --split, another run's...
        raise CommandError(str(e)) from None
    workdir = args.workdir or train.default_workdir(args.preset)
    print(f"Done: the checkpoint is in {workdir}.")
    return 0


# ----------------------------------------------------------------------
# The parser.


def _add_preset(parser):
    parser.add_argument(
        "preset",
        metavar="PRESET",
        help=f"a preset name (see `{PROG} list`) or a preset directory",
    )


def _add_image_options(parser, scale=2):
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="FILE",
        help="the PNG file to write (its directory must exist)",
    )
    parser.add_argument(
        "--scale",
        type=_positive_int,
        default=scale,
        help=f"enlarge each pixel to SCALE x SCALE (default: {scale})",
    )


def _add_dataset(parser):
    parser.add_argument(
        "--dataset",
        choices=("mnist", "fashion_mnist"),
        help="the test set to use (default: the preset's data set)",
    )


def _add_likelihood_options(parser, num_samples, limit_type=_positive_int):
    parser.add_argument(
        "-k",
        "--num-samples",
        type=_positive_int,
        default=num_samples,
        help=f"importance samples per image (default: {num_samples})",
    )
    parser.add_argument(
        "--limit",
        type=limit_type,
        help="use the first LIMIT test images only",
    )
    parser.add_argument(
        "--batch-size",
        type=_positive_int,
        default=100,
        help="test images per step (default: 100)",
    )
    parser.add_argument(
        "--seed",
        type=_non_negative_int,
        default=0,
        help="seed of the importance samples (default: 0)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar"
    )
    _add_dataset(parser)


def build_parser():
    """The `argparse` parser of `keras-vae`, with one subparser a command.

    Returns:
        An `argparse.ArgumentParser`.

    Example:

    ```python
    from keras_vae.cli import build_parser

    args = build_parser().parse_args(["sample", "mnist_mlp_2", "-o", "a.png"])
    ```
    """
    from keras_vae.version import __version__

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Variational autoencoders for Keras 3: sample, "
        "reconstruct, interpolate, evaluate, compare and train the pretrained "
        "presets of keras_vae.",
        epilog=f"`{PROG} COMMAND --help` describes each command.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True
    )

    p = commands.add_parser(
        "list",
        help="list the presets and their test NLLs",
        description="List the presets that ship with keras_vae: data set, "
        "latent dimension, parameters and test NLL.",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(function=list_command)

    p = commands.add_parser(
        "sample",
        help="write a grid of samples from the prior",
        description="Decode draws from the prior N(0, I) into a PNG grid.",
    )
    _add_preset(p)
    p.add_argument(
        "-n",
        "--num",
        type=_positive_int,
        default=64,
        help="number of samples (default: 64)",
    )
    _add_image_options(p)
    p.add_argument(
        "--seed",
        type=_non_negative_int,
        default=0,
        help="seed of the draws (default: 0)",
    )
    p.add_argument(
        "--columns",
        type=_positive_int,
        help="images per row (default: as square as possible)",
    )
    p.set_defaults(function=sample_command)

    p = commands.add_parser(
        "reconstruct",
        help="write test images beside their reconstructions",
        description="Encode test images (the fixed binarized test set of "
        "the preset's data set) and decode the mean of q(z|x): a PNG grid "
        "of pairs, original then reconstruction.",
    )
    _add_preset(p)
    p.add_argument(
        "-n",
        "--num",
        type=_positive_int,
        default=16,
        help="number of test images (default: 16)",
    )
    _add_image_options(p)
    p.add_argument(
        "--start",
        type=_non_negative_int,
        default=0,
        help="index of the first test image (default: 0)",
    )
    p.add_argument(
        "--seed",
        type=_non_negative_int,
        help="pick the test images at random with this seed instead",
    )
    p.add_argument(
        "--columns",
        type=_positive_int,
        default=8,
        help="pairs per row (default: 8)",
    )
    _add_dataset(p)
    p.set_defaults(function=reconstruct_command)

    p = commands.add_parser(
        "interpolate",
        help="write a strip interpolating between two test images",
        description="Encode two test images, interpolate linearly between "
        "the means of q(z|x) and decode: one PNG strip, the originals at "
        "both ends.",
    )
    _add_preset(p)
    _add_image_options(p)
    p.add_argument(
        "--from",
        dest="start",
        type=_non_negative_int,
        default=0,
        metavar="INDEX",
        help="index of the first test image (default: 0)",
    )
    p.add_argument(
        "--to",
        dest="end",
        type=_non_negative_int,
        default=1,
        metavar="INDEX",
        help="index of the last test image (default: 1)",
    )
    p.add_argument(
        "--steps",
        type=_at_least_two,
        default=10,
        help="decoded images, both ends included (default: 10)",
    )
    p.add_argument(
        "--originals",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="frame the strip with the two test images (default: yes)",
    )
    _add_dataset(p)
    p.set_defaults(function=interpolate_command)

    p = commands.add_parser(
        "evaluate",
        help="measure the test NLL, ELBO, KL and reconstruction",
        description="Evaluate on the fixed binarized test set: the "
        "importance-weighted NLL with K samples per image (Burda et al., "
        "2015), the ELBO and its terms, in nats per image.",
    )
    _add_preset(p)
    _add_likelihood_options(p, num_samples=5000)
    p.set_defaults(function=evaluate_command)

    p = commands.add_parser(
        "compare",
        help="compare two presets' test NLLs, image by image",
        description="Compare two presets on the same fixed binarized test "
        "images: both importance-weighted NLLs with K samples per image, and "
        "the mean per-image difference with its standard error (a paired "
        "test, much sharper than the two NLLs' own error bars).",
    )
    p.add_argument(
        "preset_a", metavar="A", help="a preset name or a preset directory"
    )
    p.add_argument(
        "preset_b", metavar="B", help="a preset name or a preset directory"
    )
    _add_likelihood_options(p, num_samples=1000, limit_type=_paired_limit)
    p.set_defaults(function=compare_command)

    p = commands.add_parser(
        "train",
        help="train a preset of the zoo (from a repository clone)",
        description="Train, or resume training, a preset of the zoo: the "
        "same as `python -m zoo.train PRESET`. Needs a clone of the "
        "repository.",
    )
    p.add_argument(
        "preset", metavar="PRESET", help="a preset name of zoo/configs.py"
    )
    p.add_argument(
        "--epochs",
        type=_positive_int,
        help="override the preset's number of epochs",
    )
    p.add_argument(
        "--workdir",
        help="checkpoints and logs (default: that of `python -m zoo.train`)",
    )
    p.add_argument(
        "--split",
        help="override the training split, e.g. 'train[:512]'",
    )
    p.add_argument(
        "--tensorboard",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="write TensorBoard logs (default: yes)",
    )
    p.set_defaults(function=train_command)
    return parser


def main(argv=None):
    """Runs the `keras-vae` command line.

    Args:
        argv: list of str or None. The arguments, without the program name;
            None reads `sys.argv[1:]`.

    Returns:
        The exit status: 0 on success, 2 for a usage error (printed as one
        `keras-vae: error: ...` line on stderr), 1 if an output file could
        not be written, 130 if interrupted.

    Example:

    ```python
    from keras_vae.cli import main

    status = main(["sample", "mnist_mlp_2", "-n", "16", "-o", "grid.png"])
    assert status == 0
    ```
    """
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # --help, --version, or a usage error.
        return e.code if isinstance(e.code, int) else 2
    from keras_vae.datasets import ChecksumError
    from keras_vae.datasets import DatasetNotFoundError
    from keras_vae.presets import PresetError

    try:
        return args.function(args)
    except (
        CommandError,
        PresetError,
        DatasetNotFoundError,
        ChecksumError,
    ) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
