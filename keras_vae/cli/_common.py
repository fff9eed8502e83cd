"""What every command of `keras-vae` shares: its errors, argument types and
checks, preset and data-set helpers, and the image writer.

Every option is checked by its `argparse` type when the command line is
parsed; what depends on the preset (its input shape, its data set) is
checked by `inspect_preset` and the `check_*` functions before a model or
data set is loaded. Nothing is computed or written before every check has
passed.
"""

import argparse
import math
import os
import stat

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


def _finite(text):
    """An `argparse` type: a finite number."""
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value):
        raise argparse.ArgumentTypeError(
            f"must be a finite number. Received: {_quote(text)}"
        )
    return value


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


def _load_preset(preset, command=None):
    """The preset's model: any keras_vae model, or only a `VAE` (and its
    subclasses) where `command` names one that needs a VAE's continuous
    latent space."""
    import keras

    import keras_vae
    from keras_vae.presets import _preset_io

    _builtin_directory(preset)  # Unknown: fails early, listing presets.
    try:
        model = _preset_io.load_as(keras.Model, preset)
    except (ValueError, OSError) as e:  # A PresetError, a damaged file...
        raise CommandError(f"cannot load the preset {preset!r}: {e}") from None
    if command is not None and not isinstance(model, keras_vae.VAE):
        raise CommandError(
            f"{preset} is a {type(model).__name__}, whose latents are code "
            f"indices: `{command}` needs a VAE's continuous latent space "
            "and likelihood bound (`sample` and `reconstruct` work with it; "
            "its card gives its reconstruction metrics)."
        )
    return model


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


def _load_checked(preset, metadata, check, command=None):
    """Runs `check(shape)` with the preset's input shape, before loading
    the model where the metadata tells the shape, then loads it (a `VAE`
    only, where `command` is given: see `_load_preset`)."""
    shape = _input_shape(metadata)
    if shape is not None:
        check(shape)
    vae = _load_preset(preset, command)
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
