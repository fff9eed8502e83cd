"""Trains, evaluates and publishes presets in turn; safe to rerun at will.

    nohup python -m zoo.pipeline mnist_mlp_2 mnist_mlp_32 > zoo.log 2>&1 &

For each preset: `zoo.train` (resuming from its checkpoint) until every
epoch of its config is done, then `zoo.evaluate` (k=5000) unless
`eval.json` is newer than the checkpoint, then `zoo.publish` unless the
published preset is newer than `eval.json`. A run stopped anywhere picks up
where it was when the same command is started again.
"""

import argparse
import json
import os

from keras_vae.training import configs
from keras_vae.training import run as train
from keras_vae.training.run import default_workdir
from keras_vae.training.run import read_state
from zoo import evaluate
from zoo import publish


def _mtime(path):
    return os.path.getmtime(path) if os.path.exists(path) else -1.0


def _evaluated_as(evaluation, dataset, num_samples):
    """Whether `eval.json` holds the whole test set at k=`num_samples` (not
    a quick `zoo.evaluate -k 100` or `--limit` made since)."""
    if not os.path.exists(evaluation):
        return False
    try:
        with open(evaluation) as f:
            protocol = json.load(f)["protocol"]
        if not isinstance(protocol, dict) or not {
            "num_images",
            "num_importance_samples",
        } <= set(protocol):
            raise ValueError("its protocol misses keys")
    except (OSError, ValueError, KeyError, TypeError) as e:
        # zoo.evaluate's own output, damaged: it is made again (atomically).
        reason = " ".join(str(e).split())[:200]
        print(f"{evaluation} is damaged ({reason}): evaluating again.")
        return False
    return not publish.evaluation_departures(dataset, protocol, num_samples)


def run(
    name, workdir=None, num_samples=evaluate.DEFAULT_NUM_SAMPLES, partial=False
):
    config = configs.get_config(name)
    workdir = workdir or default_workdir(name)
    state = read_state(workdir)
    if state.get("epochs_done", 0) < config.epochs:
        train.train(
            name, workdir=workdir, command=f"python -m zoo.train {name}"
        )
    checkpoint = os.path.join(workdir, train.CHECKPOINT)
    evaluation = os.path.join(workdir, "eval.json")
    if _mtime(evaluation) < _mtime(checkpoint) or not _evaluated_as(
        evaluation, config.dataset, num_samples
    ):
        evaluate.main([name, "--workdir", workdir, "-k", str(num_samples)])
    published = os.path.join(publish.PRESETS_DIR, name, "metadata.json")
    if _mtime(published) < _mtime(evaluation):
        publish.publish(name, workdir=workdir, partial=partial)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m zoo.pipeline",
        description="Train, evaluate and publish presets, resumably.",
    )
    parser.add_argument("presets", nargs="+", choices=sorted(configs.RECIPES))
    parser.add_argument(
        "-k", "--num-samples", type=int, default=evaluate.DEFAULT_NUM_SAMPLES
    )
    parser.add_argument(
        "--partial",
        action="store_true",
        help="allow a k other than the protocol's (publish with --partial)",
    )
    args = parser.parse_args(argv)
    if args.num_samples != evaluate.DEFAULT_NUM_SAMPLES and not args.partial:
        # Refused now, not by zoo.publish after hours of work.
        parser.error(
            f"-k {args.num_samples} departs from the presets' protocol "
            f"(k={evaluate.DEFAULT_NUM_SAMPLES}): pass --partial to publish "
            "the presets all the same."
        )
    for name in args.presets:
        try:
            run(name, num_samples=args.num_samples, partial=args.partial)
        except (
            train.RunSettingsError,
            train.RunFileError,
            publish.PublishError,
        ) as e:
            parser.error(f"{name}: {e}")


if __name__ == "__main__":
    main()
