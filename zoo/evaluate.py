"""Evaluates a trained model or a preset on the fixed binarized test set.

    python -m zoo.evaluate mnist_mlp_32                 # the checkpoint
    python -m zoo.evaluate mnist_mlp_2 --source preset  # the published one
    python -m zoo.evaluate mnist_mlp_32 -k 100          # a quick estimate

Reports, in nats per test image, on the 10,000 test images binarized once
with the pinned seed (`keras_vae.datasets.load_binarized_test_set`):

- `nll`: the importance-weighted estimate of -log p(x) with k samples
  (k=5000 by default, as in Burda et al. 2015), and its standard error over
  the test images;
- `elbo`, `kl` and `reconstruction`: the evidence lower bound and its two
  terms (the model's `num_samples` latent samples per image);
- `seconds`: the wall time of the evaluation;
- for a conditional preset, `class_accuracy`: how often an independent
  classifier, trained here on the training images, recognises the class
  asked for in 10,000 class-conditional samples
  (`keras_vae.evaluation.class_accuracy`).

A VQ-VAE has no likelihood bound: it gets
`keras_vae.evaluation.evaluate_reconstruction` instead (reconstruction
NLL, MSE and PSNR of the decoded codes, codebook use).

The importance-sampling estimate of a checkpoint saves its progress after
every step (`<workdir>/eval_progress.npz`): a stopped evaluation, started
again with the same command, continues where it was and gives the same
figures.

The figures are printed and written, atomically, to `--output`: by
default `<workdir>/eval.json` for a checkpoint (the file `zoo.publish` and
`zoo.pipeline` read) and `<workdir>/eval_preset.json` for a published
preset, so that re-evaluating a preset never stands in for the evaluation
of a training run.
"""

import argparse
import json
import os

import keras_vae
from keras_vae.evaluation import DEFAULT_NUM_SAMPLES
from keras_vae.evaluation import class_accuracy
from keras_vae.evaluation import evaluate
from keras_vae.evaluation import evaluate_reconstruction
from keras_vae.training import configs
from keras_vae.training.run import CHECKPOINT
from keras_vae.training.run import RunFileError
from keras_vae.training.run import default_workdir
from keras_vae.training.run import load_checkpoint
from keras_vae.utils import atomic_write


def load_model(name, source="auto", workdir=None):
    """Loads the checkpoint of a training run, or the published preset.

    Raises:
        RunFileError: the checkpoint is damaged (the message names it).
        FileNotFoundError: `source="checkpoint"` and there is none.
    """
    workdir = workdir or default_workdir(name)
    checkpoint = os.path.join(workdir, CHECKPOINT)
    if source in ("auto", "checkpoint") and os.path.lexists(checkpoint):
        # A damaged checkpoint is refused, naming it (never a silent
        # fallback to the preset).
        return load_checkpoint(workdir), checkpoint
    if source == "checkpoint":
        raise FileNotFoundError(
            f"No checkpoint at {checkpoint!r}: train it first with "
            f"`python -m zoo.train {name}`."
        )
    model_class = keras_vae.VQVAE if _is_vq(name) else keras_vae.VAE
    return model_class.from_preset(name), f"preset {name}"


def _is_vq(name):
    return configs.get_config(name).model == "vq"


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m zoo.evaluate",
        description="Evaluate a keras_vae preset on its fixed binarized "
        "test set: NLL (importance-weighted), ELBO, KL, reconstruction.",
    )
    parser.add_argument("preset", choices=sorted(configs.RECIPES))
    parser.add_argument(
        "--source",
        choices=("auto", "checkpoint", "preset"),
        default="auto",
        help="auto: the training checkpoint if there is one, else the preset",
    )
    parser.add_argument(
        "--workdir", help="default: ~/.cache/keras_vae/runs/<preset>"
    )
    parser.add_argument(
        "-k", "--num-samples", type=int, default=DEFAULT_NUM_SAMPLES
    )
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--limit", type=int, help="first N test images only")
    parser.add_argument(
        "--output",
        help="default: <workdir>/eval.json for a checkpoint, "
        "<workdir>/eval_preset.json for a preset",
    )
    args = parser.parse_args(argv)

    config = configs.get_config(args.preset)
    workdir = args.workdir or default_workdir(args.preset)
    try:
        vae, origin = load_model(args.preset, args.source, workdir)
    except RunFileError as e:
        parser.error(str(e))
    from_checkpoint = origin.endswith(CHECKPOINT)
    if _is_vq(args.preset):
        print(f"Evaluating {origin} on {config.dataset} test: reconstruction")
        metrics = evaluate_reconstruction(
            vae, config.dataset, batch_size=args.batch_size, limit=args.limit
        )
        return _write(metrics, origin, args, workdir, from_checkpoint)
    print(f"Evaluating {origin} on {config.dataset} test, k={args.num_samples}")
    metrics = evaluate(
        vae,
        config.dataset,
        num_samples=args.num_samples,
        batch_size=args.batch_size,
        limit=args.limit,
        # A stopped evaluation of a checkpoint continues where it was.
        progress_path=(
            os.path.join(workdir, "eval_progress.npz")
            if from_checkpoint
            else None
        ),
    )
    if isinstance(vae, keras_vae.ConditionalVAE):
        metrics["class_accuracy"] = class_accuracy(vae, config.dataset)
    return _write(metrics, origin, args, workdir, from_checkpoint)


def _write(metrics, origin, args, workdir, from_checkpoint):
    """Prints the figures and writes them to `--output`."""
    metrics["model"] = origin
    output = args.output or os.path.join(
        workdir, "eval.json" if from_checkpoint else "eval_preset.json"
    )
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    with atomic_write(output, "w") as f:
        json.dump(metrics, f, indent=2)
    print(
        json.dumps(
            {k: v for k, v in metrics.items() if k != "protocol"}, indent=2
        )
    )
    print(f"wrote {output}")
    return metrics


if __name__ == "__main__":
    main()
