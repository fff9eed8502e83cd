"""Does a ConditionalVAE draw the digit it is asked for? Measured on MNIST.

A `keras_vae.ConditionalVAE` (MLP, 784+10 -> 512 -> 256 -> (L) and
L+10 -> 256 -> 512 -> 784 with L = `--latent-dim`, default 16, Bernoulli
decoder, one-hot labels) is trained
on the 60,000 MNIST training images, binarized afresh every epoch
(default 20 epochs, batch 128, Adam 1e-3). An independent classifier (a
784-512-10 MLP, trained here on the training images, its own accuracy on
the 10,000 test images reported) then labels 10,000 samples of the CVAE,
1,000 asked for each digit (prior draws decoded to probabilities). The
score is the fraction the classifier assigns to the digit asked for,
overall and per digit. Also reported: the test ELBO and the
importance-weighted `log p(x|c)` of the test images (k=100) and, for
contrast, the same with every test image given a wrong label (the next
digit): a model that uses its condition scores the right one higher.

    python benchmarks/cvae_class_accuracy.py              # 20 epochs, jax
    python benchmarks/cvae_class_accuracy.py --epochs 2   # a quick run

It prints the table and, for a full run (>= 20 epochs), writes it with the
command to `docs/benchmarks.json` (key `cvae`) and draws
`docs/figures/cvae_samples.png`: one row per latent draw, one column per
digit, so that each row keeps its style across the digits.
"""

import argparse
import json
import os
import time

FIGURE = "cvae_samples.png"


def build(keras, keras_vae, latent_dim):
    x_in = keras.Input((28, 28, 1), name="image")
    c_in = keras.Input((10,), name="label")
    h = keras.layers.Concatenate()([keras.layers.Flatten()(x_in), c_in])
    h = keras.layers.Dense(512, activation="relu")(h)
    h = keras.layers.Dense(256, activation="relu")(h)
    encoder = keras.Model([x_in, c_in], h, name="encoder")
    z_in = keras.Input((latent_dim,), name="z")
    c_in = keras.Input((10,), name="label")
    h = keras.layers.Concatenate()([z_in, c_in])
    h = keras.layers.Dense(256, activation="relu")(h)
    h = keras.layers.Dense(512, activation="relu")(h)
    h = keras.layers.Dense(784)(h)
    decoder = keras.Model(
        [z_in, c_in], keras.layers.Reshape((28, 28, 1))(h), name="decoder"
    )
    return keras_vae.ConditionalVAE(
        encoder, decoder, latent_dim=latent_dim, num_classes=10, seed=0
    )


def classifier(keras, images, labels, epochs):
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(512, activation="relu"),
            keras.layers.Dense(10),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(images, labels, epochs=epochs, batch_size=128, verbose=0)
    return model


def figure(cvae, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from keras_vae.utils.files import atomic_path
    from keras_vae.utils.images import image_grid

    rows = 6
    z = np.random.default_rng(0).standard_normal((rows, cvae.latent_dim))
    z = np.repeat(z.astype("float32"), 10, axis=0)  # Row r: one z.
    labels = np.tile(np.arange(10), rows)
    images = cvae.decode(z, condition=labels)
    fig, axis = plt.subplots(figsize=(6.4, 4.0))
    axis.imshow(image_grid(images, columns=10), cmap="gray", vmin=0, vmax=255)
    axis.set_xticks(14 + 28 * np.arange(10) + np.arange(10) * 2)
    axis.set_xticklabels([str(d) for d in range(10)])
    axis.set_yticks([])
    axis.set_xlabel("the digit asked for (the same z along each row)")
    fig.tight_layout()
    with atomic_path(path, keep_extension=True) as temporary:
        fig.savefig(temporary, dpi=100, bbox_inches="tight")
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--latent-dim", type=int, default=16)
    parser.add_argument("--classifier-epochs", type=int, default=5)
    parser.add_argument("--samples-per-digit", type=int, default=1000)
    parser.add_argument("--num-samples", type=int, default=100)
    parser.add_argument(
        "--no-write", action="store_true", help="print, write nothing"
    )
    args = parser.parse_args()

    import keras
    import numpy as np

    import keras_vae

    train_x, train_y = keras_vae.datasets.load("mnist", "train")
    test_x, test_y = keras_vae.datasets.load("mnist", "test")
    train_x = train_x.astype("float32")
    test_x = test_x.astype("float32")
    binary_test = keras_vae.datasets.load_binarized_test_set("mnist")[0]

    began = time.time()
    cvae = build(keras, keras_vae, args.latent_dim)
    cvae.compile(optimizer=keras.optimizers.Adam(1e-3))
    rng = np.random.default_rng(0)
    for epoch in range(args.epochs):
        binary = (rng.random(train_x.shape) < train_x).astype("float32")
        history = cvae.fit(
            (binary, train_y), epochs=1, batch_size=128, verbose=0
        )
        logs = {k: round(v[-1], 2) for k, v in history.history.items()}
        print(f"epoch {epoch + 1}: {logs}", flush=True)
    train_seconds = time.time() - began

    judge = classifier(keras, train_x, train_y, args.classifier_epochs)
    judge_accuracy = float(
        np.mean(np.argmax(judge.predict(test_x, verbose=0), 1) == test_y)
    )
    asked = np.repeat(np.arange(10), args.samples_per_digit)
    samples = cvae.sample(len(asked), condition=asked, seed=0)
    seen = np.argmax(judge.predict(samples, verbose=0), axis=1)
    per_digit = [float(np.mean(seen[asked == d] == d)) for d in range(10)]
    accuracy = float(np.mean(seen == asked))

    elbo = cvae.evaluate(
        (binary_test, test_y), batch_size=500, verbose=0, return_dict=True
    )["elbo"]
    scores = {}
    for name, labels in (("right", test_y), ("wrong", (test_y + 1) % 10)):
        log_px = cvae.log_likelihood(
            binary_test,
            condition=labels,
            num_samples=args.num_samples,
            seed=0,
            verbose=0,
        )
        scores[name] = float(-log_px.mean())

    print(
        f"\nConditionalVAE on MNIST, latent_dim {args.latent_dim}, "
        f"{args.epochs} epochs "
        f"({train_seconds / args.epochs:.1f} s/epoch, "
        f"{keras.backend.backend()})"
    )
    print(f"classifier test accuracy:          {judge_accuracy:.4f}")
    print(f"samples recognised as asked:       {accuracy:.4f}")
    print(
        "per digit: "
        + " ".join(f"{d}:{a:.3f}" for d, a in enumerate(per_digit))
    )
    print(f"test ELBO (right labels):          {elbo:.2f}")
    for name in ("right", "wrong"):
        print(
            f"test NLL k={args.num_samples}, {name} labels:    "
            f"{scores[name]:.2f}"
        )
    if args.epochs < 20 or args.samples_per_digit < 1000 or args.no_write:
        return
    figure(cvae, os.path.join("docs", "figures", FIGURE))
    path = os.path.join("docs", "benchmarks.json")
    with open(path) as f:
        benchmarks = json.load(f)
    benchmarks["cvae"] = {
        "command": "python benchmarks/cvae_class_accuracy.py",
        "hardware": "this project's shared 2-core CPU machine",
        "date": time.strftime("%Y-%m-%d"),
        "keras_vae_version": keras_vae.__version__,
        "backend": keras.backend.backend(),
        "epochs": args.epochs,
        "latent_dim": args.latent_dim,
        "seconds_per_epoch": round(train_seconds / args.epochs, 1),
        "classifier_test_accuracy": round(judge_accuracy, 4),
        "samples": int(len(asked)),
        "accuracy": round(accuracy, 4),
        "per_digit": [round(a, 4) for a in per_digit],
        "test_elbo": round(float(elbo), 2),
        "num_samples": args.num_samples,
        "test_nll_right_labels": round(scores["right"], 2),
        "test_nll_wrong_labels": round(scores["wrong"], 2),
    }
    with keras_vae.utils.atomic_write(path, "w") as f:
        json.dump(benchmarks, f, indent=1)
        f.write("\n")
    path = os.path.join("docs", "figures", "figures.json")
    with open(path) as f:
        manifest = json.load(f)
    manifest["cvae_samples"] = {
        "file": FIGURE,
        "source": "benchmark",
        "models": {},
        "details": {"accuracy": round(accuracy, 4), "epochs": args.epochs},
        "missing": [],
        "backend": keras.backend.backend(),
        "date": time.strftime("%Y-%m-%d"),
        "command": "python benchmarks/cvae_class_accuracy.py",
    }
    with keras_vae.utils.atomic_write(path, "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
