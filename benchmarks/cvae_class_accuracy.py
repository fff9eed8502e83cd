"""Does a ConditionalVAE draw the digit it is asked for? Measured on MNIST.

A `keras_vae.ConditionalVAE` (MLP, 784+10 -> 512 -> 256 -> (L) and
L+10 -> 256 -> 512 -> 784, Bernoulli decoder, one-hot labels), one for
each latent size L of `--latent-dims` (default 8 and 16), is trained
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

    python benchmarks/cvae_class_accuracy.py              # 20 epochs
    python benchmarks/cvae_class_accuracy.py --epochs 2 --latent-dims 8

It prints the table and, for a full run (>= 20 epochs), writes it with the
command to `docs/benchmarks.json` (key `cvae`) and draws
`docs/figures/cvae_samples.png` with the first model: one row per latent
draw, one column per digit, so that each row keeps its style across the
digits.
"""

import argparse
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


def train_and_score(args, latent_dim, data, judge):
    """Trains one CVAE and measures it; returns the model and its row."""
    import keras
    import numpy as np

    import keras_vae

    train_x, train_y, binary_test, test_y = data
    began = time.time()
    cvae = build(keras, keras_vae, latent_dim)
    cvae.compile(optimizer=keras.optimizers.Adam(1e-3))
    rng = np.random.default_rng(0)
    for epoch in range(args.epochs):
        binary = (rng.random(train_x.shape) < train_x).astype("float32")
        history = cvae.fit(
            (binary, train_y), epochs=1, batch_size=128, verbose=0
        )
        logs = {k: round(v[-1], 2) for k, v in history.history.items()}
        print(f"L={latent_dim} epoch {epoch + 1}: {logs}", flush=True)
    seconds = (time.time() - began) / args.epochs

    asked = np.repeat(np.arange(10), args.samples_per_digit)
    samples = cvae.sample(len(asked), condition=asked, seed=0)
    seen = np.argmax(judge.predict(samples, verbose=0), axis=1)
    elbo = cvae.evaluate(
        (binary_test, test_y), batch_size=500, verbose=0, return_dict=True
    )["elbo"]
    row = {
        "latent_dim": latent_dim,
        "seconds_per_epoch": round(seconds, 1),
        "accuracy": round(float(np.mean(seen == asked)), 4),
        "per_digit": [
            round(float(np.mean(seen[asked == d] == d)), 4) for d in range(10)
        ],
        "test_elbo": round(float(elbo), 2),
    }
    for name, labels in (("right", test_y), ("wrong", (test_y + 1) % 10)):
        log_px = cvae.log_likelihood(
            binary_test,
            condition=labels,
            num_samples=args.num_samples,
            seed=0,
            verbose=0,
        )
        row[f"test_nll_{name}_labels"] = round(float(-log_px.mean()), 2)
    return cvae, row


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument(
        "--latent-dims",
        default="8,16",
        help="comma-separated; the figure shows the first",
    )
    parser.add_argument("--classifier-epochs", type=int, default=5)
    parser.add_argument("--samples-per-digit", type=int, default=1000)
    parser.add_argument("--num-samples", type=int, default=100)
    parser.add_argument(
        "--no-write", action="store_true", help="print, write nothing"
    )
    args = parser.parse_args()
    latent_dims = [int(d) for d in args.latent_dims.split(",") if d]

    import keras
    import numpy as np

    import keras_vae

    train_x, train_y = keras_vae.datasets.load("mnist", "train")
    test_x, test_y = keras_vae.datasets.load("mnist", "test")
    binary_test = keras_vae.datasets.load_binarized_test_set("mnist")[0]
    data = (train_x.astype("float32"), train_y, binary_test, test_y)

    judge = classifier(keras, data[0], train_y, args.classifier_epochs)
    judge_accuracy = float(
        np.mean(np.argmax(judge.predict(test_x, verbose=0), 1) == test_y)
    )
    rows = []
    models = []
    for latent_dim in latent_dims:
        cvae, row = train_and_score(args, latent_dim, data, judge)
        models.append(cvae)
        rows.append(row)

    print(
        f"\nConditionalVAE on MNIST, {args.epochs} epochs, "
        f"{keras.backend.backend()}; classifier test accuracy "
        f"{judge_accuracy:.4f}; {10 * args.samples_per_digit} samples; "
        f"test NLL with k={args.num_samples}"
    )
    print(
        f"{'latent':>6} {'recognised':>10} {'worst digit':>11} "
        f"{'ELBO':>8} {'NLL right':>9} {'NLL wrong':>9} {'s/epoch':>7}"
    )
    for r in rows:
        print(
            f"{r['latent_dim']:>6} {r['accuracy']:>10.4f} "
            f"{min(r['per_digit']):>11.3f} {r['test_elbo']:>8.2f} "
            f"{r['test_nll_right_labels']:>9.2f} "
            f"{r['test_nll_wrong_labels']:>9.2f} "
            f"{r['seconds_per_epoch']:>7.1f}"
        )
    if args.epochs < 20 or args.samples_per_digit < 1000 or args.no_write:
        return
    figure(models[0], os.path.join("docs", "figures", FIGURE))
    from _record import record_benchmark
    from _record import record_figure

    command = "python benchmarks/cvae_class_accuracy.py"
    record_benchmark(
        "cvae",
        command,
        epochs=args.epochs,
        classifier_test_accuracy=round(judge_accuracy, 4),
        samples=10 * args.samples_per_digit,
        num_samples=args.num_samples,
        results=rows,
    )
    record_figure(
        "cvae_samples",
        FIGURE,
        command,
        {
            "latent_dim": rows[0]["latent_dim"],
            "accuracy": rows[0]["accuracy"],
            "epochs": args.epochs,
        },
    )


if __name__ == "__main__":
    main()
