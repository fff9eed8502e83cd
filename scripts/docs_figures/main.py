"""The command line: draw the registered figures, record them in
`figures.json`."""

import argparse
import datetime
import json
import os
import time

import keras

from docs_figures._common import CACHE_DIR
from docs_figures._common import MANIFEST
from docs_figures._common import OUTPUT_DIR
from docs_figures._common import Models
from docs_figures._registry import FIGURES
from keras_vae.presets import PRESETS_DIR
from keras_vae.utils import atomic_write

PROG = "python scripts/make_figures.py"

# Options that change what a figure shows; a run that sets one to other
# than its default records it in the figure's command.
_RECORDED = (
    "limit",
    "zoom_digit",
    "ball_reach",
    "window_cells",
    "ablation_images",
    "ablation_epochs",
    "ablation_test_images",
    "judge_epochs",
    "judge_images",
    "nll_images",
    "max_k",
)


def read_manifest(output):
    path = os.path.join(output, MANIFEST)
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)


def write_manifest(output, manifest):
    with atomic_write(os.path.join(output, MANIFEST), "w") as f:
        json.dump(dict(sorted(manifest.items())), f, indent=2)
        f.write("\n")


def build_parser():
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Make the documentation's figures from the zoo presets.",
    )
    parser.add_argument(
        "figures",
        nargs="*",
        metavar="FIGURE",
        help=f"figures to draw (default: all): {', '.join(FIGURES)}",
    )
    parser.add_argument(
        "--only", nargs="+", default=[], help="the same as naming figures"
    )
    parser.add_argument("--list", action="store_true", help="list figures")
    parser.add_argument("--output", default=OUTPUT_DIR)
    parser.add_argument(
        "--presets-dir",
        default=PRESETS_DIR,
        help="where the presets are (default: the package's)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="draw figures whose presets are missing from stand-ins",
    )
    parser.add_argument("--quick-seconds", type=float, default=45.0)
    parser.add_argument("--quick-images", type=int, default=20_000)
    parser.add_argument(
        "--quick-dir",
        default=CACHE_DIR,
        help="where stand-ins and the KL ablation's models are cached",
    )
    parser.add_argument(
        "--retrain",
        action="store_true",
        help="retrain cached stand-ins and ablation models",
    )
    parser.add_argument(
        "--limit", type=int, default=5000, help="test images to encode"
    )
    parser.add_argument(
        "--zoom-digit",
        type=int,
        default=2,
        help="the class of the test image whose ball is zoomed on",
    )
    parser.add_argument(
        "--ball-reach",
        type=float,
        default=12.0,
        help="half-width of the zoom on a ball, in its largest sd",
    )
    parser.add_argument("--window-cells", type=int, default=13)
    parser.add_argument("--ablation-images", type=int, default=3000)
    parser.add_argument("--ablation-epochs", type=int, default=200)
    parser.add_argument("--ablation-test-images", type=int, default=10_000)
    parser.add_argument("--judge-epochs", type=int, default=3)
    parser.add_argument("--judge-images", type=int, default=60_000)
    parser.add_argument("--nll-images", type=int, default=200)
    parser.add_argument("--max-k", type=int, default=5000)
    return parser


def parse_args(argv):
    parser = build_parser()
    args = parser.parse_args(argv)
    unknown = sorted(set(args.figures + args.only) - set(FIGURES))
    if unknown:
        parser.error(
            f"no figure {', '.join(unknown)}; the figures are: "
            f"{', '.join(FIGURES)}"
        )
    return args


def command(args, name, quick):
    """The command that redraws figure `name` as this run drew it."""
    defaults = build_parser().parse_args([])
    words = [PROG, name]
    for option in _RECORDED:
        value = getattr(args, option)
        if value != getattr(defaults, option):
            words += [f"--{option.replace('_', '-')}", f"{value:g}"]
    if quick:
        words.append("--quick")
    return " ".join(words)


def main(argv=None):
    args = parse_args(argv)
    if args.list:
        for name, entry in FIGURES.items():
            print(f"{name:20s} {entry.page}")
        return {"made": [], "skipped": []}
    os.makedirs(args.output, exist_ok=True)
    models = Models(args)
    manifest = read_manifest(args.output)
    made, skipped = [], []
    for name in args.figures + args.only or list(FIGURES):
        entry = FIGURES[name]
        missing = [
            " or ".join(candidates)
            for candidates in entry.presets.values()
            if models.choose(candidates)[0] is None
        ]
        if missing and len(missing) == len(entry.presets):
            print(
                f"skip {name}: no preset {', '.join(missing)} in "
                f"{args.presets_dir} yet (or rerun with --quick)"
            )
            skipped.append(name)
            continue
        print(f"make {name}...", flush=True)
        keras.utils.set_random_seed(0)
        path = os.path.join(args.output, f"{name}.png")
        began = time.time()
        used = entry.draw(models, args, path)
        if used is None:
            skipped.append(name)
            continue
        used_models = {
            role: info
            for role, info in used.items()
            if isinstance(info, dict) and "kind" in info
        }
        kinds = {info["kind"] for info in used_models.values()}
        if "stand-in" in kinds:
            source = "stand-in"
        elif kinds:
            source = "preset"
        else:
            source = entry.source
        manifest[name] = {
            "file": f"{name}.png",
            "page": entry.page,
            "source": source,
            "models": used_models,
            "details": {
                key: value
                for key, value in used.items()
                if key not in used_models
            },
            "missing": missing,
            "backend": keras.backend.backend(),
            "date": datetime.date.today().isoformat(),
            "command": command(args, name, "stand-in" in kinds),
        }
        size = os.path.getsize(path) // 1024
        print(f"  wrote {path} ({size} KB, {time.time() - began:.0f} s)")
        made.append(name)
        write_manifest(args.output, manifest)
    print(
        f"made {len(made)} figure(s)"
        + (f", skipped {', '.join(skipped)}" if skipped else "")
    )
    return {"made": made, "skipped": skipped}
