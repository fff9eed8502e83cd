"""The `keras-vae` parser, assembled from each command group's module, and
`main`, which runs a command and turns its errors into exit statuses."""

import sys

from keras_vae.cli import catalog
from keras_vae.cli import images
from keras_vae.cli import scores
from keras_vae.cli import training
from keras_vae.cli._common import PROG
from keras_vae.cli._common import CommandError
from keras_vae.cli._common import _Parser


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
        "reconstruct, interpolate, traverse, evaluate, compare, train and "
        "fine-tune the pretrained presets of keras_vae.",
        epilog=f"`{PROG} COMMAND --help` describes each command.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True
    )
    for group in (catalog, images, scores, training):
        group.add_commands(commands)
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
