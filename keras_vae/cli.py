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
with status 2; an interrupted command exits with status 130. Every argument
is checked before any work (before a model or a data set is loaded where
the check allows, and always before anything is computed or written):

- seeds are integers from 0 to 2**32 - 1, on every backend;
- counts (`-n`, `-k`, `--steps`, `--limit`, `--batch-size`, `--epochs`) are
  at most 1,000,000, `--columns` at most 1,000 and `--scale` at most 32, and
  a PNG is at most `MAX_IMAGE_PIXELS` (50 million) pixels;
- test-image indices and `-n` must fit the data set's test set, and the
  preset's input shape must be that of its images;
- a `--split` must select at least one image;
- `-o` must name a PNG file that can be written (its directory exists and
  is writable; not a directory, a symbolic link or a read-only file), and
  `--workdir` a directory that exists or can be made.

A damaged preset or checkpoint is refused with an error that names the
file. Output files are written atomically: an interrupted command leaves
the previous file or the new one.
"""

import argparse
import contextlib
import json
import math
import os
import shlex
import stat
import sys

from keras_vae._validation import SEED_LIMIT

PROG = "keras-vae"


class CommandError(Exception):
    """A user error: printed as `keras-vae: error: <message>`, exit status 2.

    Raised with one argument, the message: what was wrong, naming the
    argument and the value received.
    """


# ----------------------------------------------------------------------
# Argument types and checks. Every option is checked by its `argparse`
# type when the command line is parsed; what depends on the preset (its
# input shape, its data set) is checked by `_inspect_preset` and
# `_check_*` before a model or data set is loaded. Nothing is computed or
# written before every check has passed.

MAX_IMAGE_PIXELS = 50_000_000
"""The largest PNG the image commands write, in pixels (50 megapixels,
below Pillow's decompression-bomb limit): `-n`, `--columns`, `--steps` and
`--scale` are refused together if the grid would be larger."""

MAX_SCALE = 32
MAX_COLUMNS = 1_000
MAX_COUNT = 1_000_000
"""The bound of the counts (`-n`, `-k`, `--steps`, `--limit`,
`--batch-size`, `--epochs`)."""

SEED_BOUND = SEED_LIMIT
"""Seeds are integers in [0, 2**32), the same rule on every backend."""

_PADDING = 2  # Pixels around each image of a grid (`image_grid`'s default).
_QUOTE = 40  # Characters of a received value quoted in an error message.


class _ArgumentError(CommandError):
    """A command line that `argparse` refuses (printed in one line)."""


class _Parser(argparse.ArgumentParser):
    """An `ArgumentParser` whose usage errors are one `keras-vae: error:`
    line (through `CommandError`), not a usage block."""

    def error(self, message):
        raise _ArgumentError(
            f"{message} (`{self.prog} --help` describes the options)"
        )


def _quote(text):
    """`repr(text)`, cut to a short excerpt."""
    text = str(text)
    if len(text) > _QUOTE:
        return repr(text[: _QUOTE - 3] + "...")
    return repr(text)


def _integer(minimum, requirement, maximum=None):
    """An `argparse` type: an integer in [minimum, maximum]; `requirement`
    says so."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if (
            value is None
            or value < minimum
            or (maximum is not None and value > maximum)
        ):
            raise argparse.ArgumentTypeError(
                f"must be {requirement}. Received: {_quote(text)}"
            )
        return value

    return parse


_non_negative_int = _integer(0, "a non-negative integer")
_count = _integer(1, f"a positive integer, at most {MAX_COUNT:,}", MAX_COUNT)
_at_least_two = _integer(
    2, f"an integer from 2 to {MAX_COUNT:,} (both ends included)", MAX_COUNT
)
_paired_limit = _integer(
    2,
    "an integer >= 2 (a paired standard error needs two images)",
    MAX_COUNT,
)
_scale = _integer(1, f"a positive integer, at most {MAX_SCALE}", MAX_SCALE)
_columns = _integer(
    1, f"a positive integer, at most {MAX_COLUMNS:,}", MAX_COLUMNS
)
_seed = _integer(
    0,
    f"an integer from 0 to {SEED_BOUND - 1} (seeds are 32-bit)",
    SEED_BOUND - 1,
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
        CommandError: `path` does not end in `.png`, is a directory, a
            symbolic link, a read-only or special file, has a name too long
            for its file system, or its directory does not exist or is not
            writable. The message names `path`.

    Example:

    ```python
    from keras_vae.cli import check_output_path

    check_output_path("grid.png")
    ```
    """
    received = f"Received: {option}={path!r}"
    if "\0" in path:
        raise CommandError(f"{option} contains a NUL character. {received}")
    if not path.lower().endswith(".png"):
        raise CommandError(f"{option} must name a .png file. {received}")
    if os.path.isdir(path):
        raise CommandError(f"{option} is a directory, not a file. {received}")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        what = "does not exist (create it first)"
        if os.path.exists(directory):
            what = "is not a directory"
        raise CommandError(
            f"the output directory {directory!r} {what}. {received}"
        )
    if not _is_writable(directory):
        raise CommandError(
            f"the output directory {directory!r} is not writable. {received}"
        )
    if os.path.islink(path):
        raise CommandError(
            f"{option} is a symbolic link: name the file to write itself "
            f"(it would replace the link). {received}"
        )
    if os.path.lexists(path):
        mode = os.lstat(path).st_mode
        if not stat.S_ISREG(mode):
            raise CommandError(
                f"{option} exists and is not a regular file. {received}"
            )
        if not os.access(path, os.W_OK):
            raise CommandError(
                f"{option} exists and is read-only: make it writable or "
                f"write another file. {received}"
            )
    try:
        name_max = os.pathconf(directory, "PC_NAME_MAX")
    except (OSError, ValueError):
        name_max = 255
    # The atomic write goes through a temporary name of the same length.
    if len(os.fsencode(os.path.basename(path))) > name_max:
        raise CommandError(
            f"{option} names a file whose name is longer than the {name_max}"
            f" bytes its file system allows. {received}"
        )
    return path


def _output(text):
    """An `argparse` type: a PNG file that can be written."""
    try:
        return check_output_path(text)
    except CommandError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _split(text):
    """An `argparse` type: a split `keras_vae.datasets.load` accepts."""
    try:
        _split_size("mnist", text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def _split_size(dataset, split):
    """The number of images `split` selects of `dataset` (without loading
    it); ValueError for a split that `keras_vae.datasets.load` refuses."""
    from keras_vae.datasets import _load
    from keras_vae.datasets import _registry

    spec = _registry.get_spec(dataset)
    parsed = _load._parse_split(spec, split)
    size = spec.num_train if parsed.part == "train" else spec.num_test
    return len(range(size)[parsed.start : parsed.stop])


def _workdir(text):
    """An `argparse` type: a directory that exists or can be made, and
    written to."""
    try:
        return _check_workdir(text, "--workdir")
    except CommandError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _check_workdir(path, option):
    received = f"Received: {option}={path!r}"
    if "\0" in path:
        raise CommandError(f"{option} contains a NUL character. {received}")
    if os.path.exists(path) and not os.path.isdir(path):
        raise CommandError(
            f"{option} must be a directory; it names a file. {received}"
        )
    existing = os.path.abspath(path)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise CommandError(
            f"{option} cannot be made: {existing!r} is not a directory. "
            f"{received}"
        )
    if not _is_writable(existing):
        raise CommandError(
            f"{option} cannot be written: the directory {existing!r} is not "
            f"writable. {received}"
        )
    return path


def _builtin_directory(preset):
    """The directory of `preset` if it names a directory or a preset of
    keras_vae, else a `CommandError` listing the known presets."""
    from keras_vae.presets import PresetError
    from keras_vae.presets import builtin_presets
    from keras_vae.presets import resolve

    try:
        return resolve(preset)
    except PresetError:
        names = builtin_presets()
    known = ", ".join(names) if names else "none installed"
    raise CommandError(
        f"unknown preset {preset!r}: it is neither a preset of keras_vae "
        f"(known presets: {known}) nor a preset directory. "
        f"`{PROG} list` shows the presets."
    )


def _inspect_preset(preset):
    """The metadata of `preset`, read (not loaded) to check the arguments
    against it before any work."""
    from keras_vae.presets import read_metadata

    directory = _builtin_directory(preset)
    try:
        metadata = read_metadata(directory)
    except (ValueError, OSError) as e:
        raise CommandError(f"cannot load the preset {preset!r}: {e}") from None
    return metadata if isinstance(metadata, dict) else {}


def _load_preset(preset):
    import keras_vae

    _builtin_directory(preset)  # Unknown: fails early, listing presets.
    try:
        return keras_vae.VAE.from_preset(preset)
    except (ValueError, OSError) as e:  # A PresetError, a damaged file...
        raise CommandError(f"cannot load the preset {preset!r}: {e}") from None


def _input_shape(metadata):
    """The preset's input shape from its metadata, or None."""
    shape = metadata.get("input_shape")
    if (
        isinstance(shape, list)
        and shape
        and all(isinstance(d, int) and d > 0 for d in shape)
    ):
        return tuple(shape)
    return None


def _model_input_shape(vae):
    return tuple(vae._encoder_input_shape()[1:])


def _dataset_of(metadata, args, preset=None):
    """The data set to use: `--dataset`, else the preset's; checked."""
    from keras_vae.datasets import DATASET_NAMES

    preset = preset or args.preset
    dataset = getattr(args, "dataset", None) or metadata.get("dataset")
    if not dataset:
        raise CommandError(
            f"preset {preset!r} names no data set in its metadata: pass "
            "--dataset mnist or --dataset fashion_mnist."
        )
    if dataset not in DATASET_NAMES:
        raise CommandError(
            f"preset {preset!r} names the data set {_quote(dataset)} in its "
            "metadata, which keras_vae does not know: pass --dataset mnist "
            "or --dataset fashion_mnist."
        )
    return dataset


def _num_test_images(dataset):
    from keras_vae.datasets import _registry

    return _registry.get_spec(dataset).num_test


def _check_shape(preset, shape, dataset):
    """Refuses a preset whose inputs are not the images of `dataset`."""
    from keras_vae.datasets import _registry

    expected = tuple(_registry.get_spec(dataset).image_shape) + (1,)
    if shape is not None and tuple(shape) != expected:
        raise CommandError(
            f"preset {preset!r} takes inputs of shape {tuple(shape)}, but the "
            f"{dataset} test images have shape {expected}: choose a preset "
            "trained on those images, or another --dataset."
        )


def _check_grid(shape, num_images, columns, scale, options):
    """Refuses a grid of images that is not an image or would be too big.

    Args:
        shape: tuple. The shape of one image (height, width[, channels]).
        num_images: int. Images in the grid.
        columns: int or None. Images per row (None: as square as possible).
        scale: int. The enlargement of each pixel.
        options: str. The options that set these, as the user wrote them.
    """
    if shape is None:
        return
    if len(shape) not in (2, 3) or (len(shape) == 3 and shape[2] not in (1, 3)):
        raise CommandError(
            f"the preset's inputs have shape {tuple(shape)}, which is not an "
            "image (height, width, 1 or 3 channels): there is nothing to draw."
        )
    if columns is None:
        columns = math.ceil(math.sqrt(num_images))
    rows = math.ceil(num_images / columns)
    height = (rows * (shape[0] + _PADDING) + _PADDING) * scale
    width = (columns * (shape[1] + _PADDING) + _PADDING) * scale
    if height * width > MAX_IMAGE_PIXELS:
        raise CommandError(
            f"the image would be {width:,} x {height:,} pixels, more than the "
            f"{MAX_IMAGE_PIXELS:,} pixels {PROG} writes: lower "
            f"{options}."
        )


def _load_checked(preset, metadata, check):
    """Runs `check(shape)` with the preset's input shape, before loading
    the model where the metadata tells the shape, then loads it."""
    shape = _input_shape(metadata)
    if shape is not None:
        check(shape)
    vae = _load_preset(preset)
    if shape is None:
        check(_model_input_shape(vae))
    return vae


def _test_images(dataset):
    """The fixed binarized test images of `dataset`, and their labels."""
    from keras_vae import datasets

    return datasets.load_binarized_test_set(dataset)


def _given(vae, preset, labels):
    """The keyword arguments that give a conditional preset the `labels`
    of its test images (`condition=`); none for other presets."""
    from keras_vae.models.conditional_vae import ConditionalVAE

    if not isinstance(vae, ConditionalVAE):
        return {}
    try:
        vae._labelled(None, labels)
    except ValueError as error:
        raise CommandError(f"{preset}: {error}") from None
    return {"condition": labels}


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
    metadata = _inspect_preset(args.preset)

    def check(shape):
        _check_grid(
            shape,
            args.num,
            args.columns,
            args.scale,
            f"-n/--num ({args.num}), --columns ({args.columns or 'default'})"
            f" or --scale ({args.scale})",
        )

    vae = _load_checked(args.preset, metadata, check)
    from keras_vae.models.conditional_vae import ConditionalVAE

    what = f"{args.num} samples of {args.preset}"
    if isinstance(vae, ConditionalVAE):
        if vae.num_classes is None:
            raise CommandError(
                f"{args.preset} is conditioned on float arrays, which the "
                "command line cannot give: use "
                "`ConditionalVAE.sample(n, condition=...)` in Python."
            )
        if args.condition is not None and args.condition >= vae.num_classes:
            raise CommandError(
                f"--condition must be a class of {args.preset}, 0 to "
                f"{vae.num_classes - 1}. Received: --condition="
                f"{args.condition}"
            )
        images = vae.sample(args.num, condition=args.condition, seed=args.seed)
        what += (
            ", the classes in turn"
            if args.condition is None
            else f", of class {args.condition}"
        )
    else:
        if args.condition is not None:
            raise CommandError(
                f"--condition applies to conditional presets; {args.preset} "
                f"is a {type(vae).__name__}, which samples without one."
            )
        images = vae.sample(args.num, seed=args.seed)
    _write(args.output, images, args.columns, args.scale, what)
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

    metadata = _inspect_preset(args.preset)
    dataset = _dataset_of(metadata, args)
    size = _num_test_images(dataset)
    if args.num > size:
        raise CommandError(
            f"-n/--num must be at most the number of test images, {size}. "
            f"Received: -n/--num={args.num}"
        )
    if args.seed is None:
        _check_index("--start", args.start, size)
    num = (
        args.num if args.seed is not None else min(args.num, size - args.start)
    )

    def check(shape):
        _check_shape(args.preset, shape, dataset)
        _check_grid(
            shape,
            2 * num,
            2 * min(args.columns, num),
            args.scale,
            f"-n/--num ({args.num}), --columns ({args.columns}) or --scale "
            f"({args.scale})",
        )

    vae = _load_checked(args.preset, metadata, check)
    x, labels = _test_images(dataset)
    if args.seed is None:
        indices = np.arange(args.start, min(args.start + args.num, len(x)))
    else:
        rng = np.random.default_rng(args.seed)
        indices = np.sort(rng.choice(len(x), size=args.num, replace=False))
    x = x[indices]
    given = _given(vae, args.preset, labels[indices])
    pairs = np.stack([x, vae.reconstruct(x, **given)], axis=1)
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

    metadata = _inspect_preset(args.preset)
    dataset = _dataset_of(metadata, args)
    size = _num_test_images(dataset)
    _check_index("--from", args.start, size)
    _check_index("--to", args.end, size)
    num = args.steps + (2 if args.originals else 0)

    def check(shape):
        _check_shape(args.preset, shape, dataset)
        _check_grid(
            shape,
            num,
            num,
            args.scale,
            f"--steps ({args.steps}) or --scale ({args.scale})",
        )

    vae = _load_checked(args.preset, metadata, check)
    x, labels = _test_images(dataset)
    ends = x[[args.start, args.end]]
    given = _given(vae, args.preset, labels[[args.start, args.end]])
    mean, _ = vae.encode(ends, **given)
    weights = np.linspace(0.0, 1.0, args.steps, dtype="float32")[:, None]
    z = (1.0 - weights) * mean[0] + weights * mean[1]
    if given:  # The path is decoded with the first image's label.
        given = {"condition": given["condition"][0]}
    images = vae.decode(z, **given)
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

    metadata = _inspect_preset(args.preset)
    dataset = _dataset_of(metadata, args)
    vae = _load_checked(
        args.preset,
        metadata,
        lambda shape: _check_shape(args.preset, shape, dataset),
    )
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

    names = [args.preset_a, args.preset_b]
    metadatas = [_inspect_preset(name) for name in names]
    datasets = [
        _dataset_of(metadata, args, name)
        for metadata, name in zip(metadatas, names)
    ]
    if datasets[0] != datasets[1]:
        raise CommandError(
            f"presets {names[0]!r} and {names[1]!r} model different data "
            f"sets ({datasets[0]} and {datasets[1]}): pass --dataset to "
            "compare them on one test set."
        )
    vaes = [
        _load_checked(
            name,
            metadata,
            lambda shape, name=name: _check_shape(name, shape, datasets[0]),
        )
        for name, metadata in zip(names, metadatas)
    ]
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
    config = configs.get_config(args.preset)
    if args.workdir is None:
        _check_workdir(train.default_workdir(args.preset), "the work directory")
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
        train.train(
            args.preset,
            workdir=args.workdir,
            epochs=args.epochs,
            split=args.split,
            tensorboard=args.tensorboard,
            command="python -m zoo.train " + shlex.join(zoo_argv),
        )
    except (train.RunSettingsError, train.RunFileError) as e:
        # Another run's settings, a damaged checkpoint...
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
        type=_output,
        metavar="FILE",
        help="the PNG file to write (its directory must exist)",
    )
    parser.add_argument(
        "--scale",
        type=_scale,
        default=scale,
        help=f"enlarge each pixel to SCALE x SCALE, 1 to {MAX_SCALE} "
        f"(default: {scale})",
    )


def _add_dataset(parser):
    parser.add_argument(
        "--dataset",
        choices=("mnist", "fashion_mnist"),
        help="the test set to use (default: the preset's data set)",
    )


def _add_likelihood_options(parser, num_samples, limit_type=_count):
    parser.add_argument(
        "-k",
        "--num-samples",
        type=_count,
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
        type=_count,
        default=100,
        help="test images per step (default: 100)",
    )
    parser.add_argument(
        "--seed",
        type=_seed,
        default=0,
        help="seed of the importance samples, 0 to 2**32 - 1 (default: 0)",
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

    parser = _Parser(
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
        description="Decode draws from the prior into a PNG grid; for a "
        "conditional preset, of the class --condition or of the classes in "
        "turn.",
    )
    _add_preset(p)
    p.add_argument(
        "-n",
        "--num",
        type=_count,
        default=64,
        help="number of samples (default: 64)",
    )
    _add_image_options(p)
    p.add_argument(
        "--seed",
        type=_seed,
        default=0,
        help="seed of the draws, 0 to 2**32 - 1 (default: 0)",
    )
    p.add_argument(
        "--columns",
        type=_columns,
        help=f"images per row, 1 to {MAX_COLUMNS:,} (default: as square as "
        "possible)",
    )
    p.add_argument(
        "--condition",
        type=_non_negative_int,
        help="for a conditional preset: the class to draw, e.g. 7 for "
        "sevens (default: the classes in turn)",
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
        type=_count,
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
        type=_seed,
        help="pick the test images at random with this seed (0 to 2**32 - 1)"
        " instead",
    )
    p.add_argument(
        "--columns",
        type=_columns,
        default=8,
        help=f"pairs per row, 1 to {MAX_COLUMNS:,} (default: 8)",
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
        type=_count,
        help="override the preset's number of epochs",
    )
    p.add_argument(
        "--workdir",
        type=_workdir,
        help="checkpoints and logs (default: that of `python -m zoo.train`)",
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
    except SystemExit as e:  # --help or --version.
        return e.code if isinstance(e.code, int) else 2
    except CommandError as e:  # A usage error: an option's check failed.
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    from keras_vae.datasets import ChecksumError
    from keras_vae.datasets import DatasetNotFoundError
    from keras_vae.datasets import IdxFormatError
    from keras_vae.presets import PresetError

    try:
        return args.function(args)
    except (
        CommandError,
        PresetError,
        DatasetNotFoundError,
        ChecksumError,
        IdxFormatError,
    ) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # An output that could not be written after all.
        message = str(e)
        if e.filename is not None and e.strerror:
            message = f"{e.filename}: {e.strerror}"
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
