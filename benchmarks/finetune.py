"""Fine-tuning a preset on new data: is it worth it, and what does the KL
warm-up change?

Starts from `mnist_mlp_32` (trained on MNIST) and trains on Fashion-MNIST
for the same short budget in four ways:

- the preset as published, not trained further (the baseline);
- fine-tuned with the KL weight at 1 from the first step (the preset's
  warm-up is over: what `keras_vae.training.finetune` does by default);
- fine-tuned with the warm-up restarted over one epoch's steps
  (`kl_warmup_steps=`, `with_kl_warmup`);
- fine-tuned at the learning rate the preset started with, 1e-3 (the
  default of `finetune` is 1e-4);
- the same network trained from random weights with the preset's recipe
  (its learning rate and warm-up), for the same number of epochs.

Each is scored on the fixed binarized Fashion-MNIST test set (the NLL it
was trained for) and on MNIST's (what it forgot), with k importance
samples on the first `--limit` test images, and recorded in
docs/benchmarks.json (key `finetune`) for the fine-tuning tutorial.

    KERAS_BACKEND=jax python benchmarks/finetune.py            # ~20 min
    KERAS_BACKEND=jax python benchmarks/finetune.py --epochs 1 --limit 200
"""

import argparse
import dataclasses
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks._record import record_benchmark  # noqa: E402
from keras_vae import evaluation  # noqa: E402
from keras_vae import training  # noqa: E402
from keras_vae.models.vae import VAE  # noqa: E402
from keras_vae.training import run as training_run  # noqa: E402

PRESET = "mnist_mlp_32"


def scores(vae, args):
    """Test NLLs on Fashion-MNIST and on MNIST."""
    return {
        dataset: round(
            evaluation.evaluate(
                vae,
                dataset,
                num_samples=args.num_samples,
                limit=args.limit,
                verbose=0,
            )["nll"],
            2,
        )
        for dataset in ("fashion_mnist", "mnist")
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--limit", type=int, default=2000)
    parser.add_argument("-k", "--num-samples", type=int, default=100)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    split = "train"
    steps_per_epoch = -(-60_000 // 128)
    rows = []

    def row(name, vae, seconds):
        result = {"model": name, **scores(vae, args), "seconds": seconds}
        print(result, flush=True)
        rows.append(result)

    row("preset as published (no training)", VAE.from_preset(PRESET), 0.0)
    for name, warmup, rate in (
        ("fine-tuned, KL weight 1 from the start", None, 1e-4),
        ("fine-tuned, warm-up restarted (1 epoch)", steps_per_epoch, 1e-4),
        ("fine-tuned at learning rate 1e-3", None, 1e-3),
    ):
        began = time.monotonic()
        vae = training.finetune(
            PRESET,
            workdir=tempfile.mkdtemp(prefix="finetune_bench_"),
            epochs=args.epochs,
            dataset="fashion_mnist",
            split=split,
            kl_warmup_steps=warmup,
            learning_rate=rate,
            tensorboard=False,
            verbose=2,
        )
        row(name, vae, round(time.monotonic() - began, 1))
    recipe = dataclasses.replace(
        training.get_config(PRESET),
        name="fashion_from_scratch",
        dataset="fashion_mnist",
        epochs=args.epochs,
        kl_warmup_steps=steps_per_epoch,
    )

    def build(total_steps):
        vae = training_run.build_vae(recipe)
        training_run.compile_vae(vae, recipe, total_steps=total_steps)
        return vae

    began = time.monotonic()
    vae = training_run.run(
        recipe,
        build,
        workdir=tempfile.mkdtemp(prefix="finetune_bench_"),
        epochs=args.epochs,
        split=split,
        tensorboard=False,
        verbose=2,
    )
    row(
        "same network from random weights",
        vae,
        round(time.monotonic() - began, 1),
    )
    print(f"\n{'model':<42} {'Fashion NLL':>12} {'MNIST NLL':>10}")
    for r in rows:
        print(
            f"{r['model']:<42} {r['fashion_mnist']:>12.2f} {r['mnist']:>10.2f}"
        )
    if not args.no_record:
        record_benchmark(
            "finetune",
            "KERAS_BACKEND=jax python benchmarks/finetune.py"
            + ("" if args.epochs == 5 else f" --epochs {args.epochs}")
            + ("" if args.limit == 2000 else f" --limit {args.limit}"),
            preset=PRESET,
            epochs=args.epochs,
            num_importance_samples=args.num_samples,
            num_test_images=args.limit,
            results=rows,
        )


if __name__ == "__main__":
    main()
