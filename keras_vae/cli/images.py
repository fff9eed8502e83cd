"""`keras-vae sample`, `reconstruct`, `interpolate` and `traverse`: PNG
grids of what a preset generates.
"""

import argparse

from keras_vae.cli._common import MAX_COLUMNS
from keras_vae.cli._common import CommandError
from keras_vae.cli._common import _add_dataset
from keras_vae.cli._common import _add_image_options
from keras_vae.cli._common import _add_preset
from keras_vae.cli._common import _at_least_two
from keras_vae.cli._common import _check_grid
from keras_vae.cli._common import _check_index
from keras_vae.cli._common import _check_shape
from keras_vae.cli._common import _columns
from keras_vae.cli._common import _count
from keras_vae.cli._common import _dataset_of
from keras_vae.cli._common import _finite
from keras_vae.cli._common import _given
from keras_vae.cli._common import _inspect_preset
from keras_vae.cli._common import _load_checked
from keras_vae.cli._common import _non_negative_int
from keras_vae.cli._common import _num_test_images
from keras_vae.cli._common import _seed
from keras_vae.cli._common import _test_images
from keras_vae.cli._common import _write


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

    Encodes two test images, interpolates between the means of their
    posteriors (`--method linear`, the default, or `slerp`: see
    `VAE.interpolate`) and decodes each point: the first and last images of
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

    vae = _load_checked(args.preset, metadata, check, "interpolate")
    x, labels = _test_images(dataset)
    ends = x[[args.start, args.end]]
    given = _given(vae, args.preset, labels[[args.start, args.end]])
    mean, _ = vae.encode(ends, **given)
    if given:  # The path is decoded with the first image's label.
        given = {"condition": given["condition"][0]}
    images = vae.interpolate(
        mean[0], mean[1], steps=args.steps, method=args.method, **given
    )
    if args.originals:
        images = np.concatenate([ends[:1], images, ends[1:]])
    _write(
        args.output,
        images,
        len(images),
        args.scale,
        f"a {args.method} interpolation of {args.steps} steps from test image "
        f"{args.start} to {args.end} by {args.preset}",
    )
    return 0


def _latent_dim(metadata):
    """The preset's latent dimension from its metadata, or None."""
    value = metadata.get("latent_dim")
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def _check_dims(preset, dims, latent_dim):
    for d in dims:
        if d >= latent_dim:
            raise CommandError(
                f"--dim must name latent dimensions of {preset}, 0 to "
                f"{latent_dim - 1}. Received: --dim={d}"
            )


def traverse_command(args):
    """`keras-vae traverse PRESET --dim D -o FILE`: what latent dimensions do.

    Starts from one code, the posterior mean of a test image (`--image`,
    default 0) or the origin of the latent space (`--zero`), and decodes it
    with dimension `D` set to each of `--steps` values from `--range LOW
    HIGH` (default -3 to 3, three prior standard deviations), the others
    kept: one row per `--dim` (see `VAE.traverse`).

    Args:
        args: the parsed `argparse.Namespace`.

    Returns:
        The exit status, 0.

    Example:

    ```python
    from keras_vae.cli import main

    assert main(["traverse", "mnist_mlp_2", "--dim", "0", "1",
                 "-o", "traversal.png"]) == 0
    ```
    """
    import numpy as np

    low, high = args.range
    if not low < high:
        raise CommandError(
            "--range must be LOW HIGH with LOW < HIGH. Received: "
            f"--range {low:g} {high:g}"
        )
    if len(set(args.dim)) != len(args.dim):
        raise CommandError(
            f"--dim names a dimension twice. Received: --dim "
            f"{' '.join(map(str, args.dim))}"
        )
    metadata = _inspect_preset(args.preset)
    latent_dim = _latent_dim(metadata)
    if latent_dim is not None:
        _check_dims(args.preset, args.dim, latent_dim)
    dataset = None
    if not args.zero:
        dataset = _dataset_of(metadata, args)
        _check_index("--image", args.image, _num_test_images(dataset))

    def check(shape):
        if dataset is not None:
            _check_shape(args.preset, shape, dataset)
        _check_grid(
            shape,
            len(args.dim) * args.steps,
            args.steps,
            args.scale,
            f"--dim ({len(args.dim)} dimensions), --steps ({args.steps}) or "
            f"--scale ({args.scale})",
        )

    vae = _load_checked(args.preset, metadata, check, "traverse")
    _check_dims(args.preset, args.dim, vae.latent_dim)
    from keras_vae.models.conditional_vae import ConditionalVAE

    given = {}
    if isinstance(vae, ConditionalVAE):
        if vae.num_classes is None:
            raise CommandError(
                f"{args.preset} is conditioned on float arrays, which the "
                "command line cannot give: use `ConditionalVAE.traverse(z, "
                "dim, condition=...)` in Python."
            )
        if args.condition is not None:
            if args.condition >= vae.num_classes:
                raise CommandError(
                    f"--condition must be a class of {args.preset}, 0 to "
                    f"{vae.num_classes - 1}. Received: --condition="
                    f"{args.condition}"
                )
            given = {"condition": args.condition}
        elif args.zero:
            raise CommandError(
                f"{args.preset} is conditional: pass --condition C, the class "
                "to decode the codes with, beside --zero."
            )
    elif args.condition is not None:
        raise CommandError(
            f"--condition applies to conditional presets; {args.preset} is a "
            f"{type(vae).__name__}, which decodes without one."
        )
    if args.zero:
        start = np.zeros(vae.latent_dim, "float32")
        origin = "the origin of the latent space"
    else:
        x, labels = _test_images(dataset)
        image = slice(args.image, args.image + 1)
        encoded = _given(vae, args.preset, labels[image])  # Its own label.
        start = vae.encode(x[image], **encoded)[0][0]
        if encoded and not given:
            given = {"condition": int(labels[args.image])}
        origin = f"test image {args.image}"
    values = np.linspace(low, high, args.steps)
    images = vae.traverse(start, dim=list(args.dim), values=values, **given)
    images = images.reshape((-1,) + images.shape[2:])
    noun = "dimension" if len(args.dim) == 1 else "dimensions"
    _write(
        args.output,
        images,
        args.steps,
        args.scale,
        f"a traversal of latent {noun} {', '.join(map(str, args.dim))} of "
        f"{args.preset} from {origin}, {args.steps} values from {low:g} to "
        f"{high:g}",
    )
    return 0


def add_commands(commands):
    """Adds the sub-parsers of the image commands to `commands`."""
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
        description="Encode two test images, interpolate between the means "
        "of q(z|x) (linearly or by slerp) and decode: one PNG strip, the "
        "originals at both ends.",
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
        "--method",
        choices=("linear", "slerp"),
        default="linear",
        help="a straight path, or along the great circle (default: linear)",
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
        "traverse",
        help="write a grid sweeping latent dimensions",
        description="Decode one code (the posterior mean of a test image, or "
        "the origin) with latent dimension D set to each of --steps values "
        "from LOW to HIGH, the others kept: one row per dimension. Shows "
        "what each dimension encodes.",
    )
    _add_preset(p)
    p.add_argument(
        "--dim",
        type=_non_negative_int,
        nargs="+",
        required=True,
        metavar="D",
        help="the latent dimension(s) to sweep, one row each",
    )
    _add_image_options(p)
    start = p.add_mutually_exclusive_group()
    start.add_argument(
        "--image",
        type=_non_negative_int,
        default=0,
        metavar="INDEX",
        help="start from the code of this test image (default: 0)",
    )
    start.add_argument(
        "--zero",
        action="store_true",
        help="start from the origin of the latent space instead",
    )
    p.add_argument(
        "--range",
        type=_finite,
        nargs=2,
        default=(-3.0, 3.0),
        metavar=("LOW", "HIGH"),
        help="the values of the swept dimension (default: -3 3)",
    )
    p.add_argument(
        "--steps",
        type=_at_least_two,
        default=7,
        help="values per dimension, both ends included (default: 7)",
    )
    p.add_argument(
        "--condition",
        type=_non_negative_int,
        help="for a conditional preset: the class to decode with (default: "
        "the test image's label)",
    )
    _add_dataset(p)
    p.set_defaults(function=traverse_command)
