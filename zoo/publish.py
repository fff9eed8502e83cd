"""Publishes a trained and evaluated run as a preset, atomically.

    python -m zoo.train mnist_mlp_32       # checkpoints in ~/.cache/...
    python -m zoo.evaluate mnist_mlp_32    # <workdir>/eval.json
    python -m zoo.publish mnist_mlp_32     # keras_vae/presets/mnist_mlp_32/

The preset directory holds `config.json`, `model.weights.h5`,
`metadata.json` (metrics with their protocol, the SHA-256 of every file,
parameter count, the exact training command, epochs, seed, wall time,
versions, date), a model card `README.md`, `samples.png`,
`reconstructions.png` and, for 2-d latents, `latent_plane.png`. It is
written beside the target and swapped in only when whole: an interrupted
publish leaves the previous version intact. Published into the package,
its checksums are pinned in `keras_vae/presets/_checksums.py` (commit that
file with the preset).

A run that departs from the preset's protocol (fewer epochs than its
config, another split, an evaluation on part of the test set or with
another k) is refused unless `--partial` is given; its metadata
(`"departures"`) and card then say how it departs.
"""

import argparse
import json
import os

import numpy as np

import keras_vae
from keras_vae import datasets
from keras_vae.presets import PRESETS_DIR
from keras_vae.presets import _preset_io
from keras_vae.presets import save_preset
from keras_vae.training import configs
from keras_vae.training.run import RunFileError
from keras_vae.training.run import default_workdir
from keras_vae.training.run import load_checkpoint
from keras_vae.training.run import read_state
from keras_vae.utils import save_image_grid
from keras_vae.utils.environment import describe_hardware


def reconstructions_figure(vae, dataset):
    """A writer of 32 test images (odd columns) and their reconstructions."""

    def write(path):
        x, labels = datasets.load_binarized_test_set(dataset)
        x, kwargs = x[:32], {}
        if isinstance(vae, keras_vae.ConditionalVAE):
            kwargs = {"condition": labels[:32]}  # Each image's own label.
        pairs = np.stack([x, vae.reconstruct(x, **kwargs)], axis=1)
        save_image_grid(
            path, pairs.reshape((64,) + x.shape[1:]), columns=16, scale=2
        )

    return write


def latent_plane_figure(vae, dataset):
    """A writer of the 2-d latent plane: class scatter and decoded grid."""

    def write(path):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from keras_vae.utils import atomic_write
        from keras_vae.utils import image_grid

        images, labels = datasets.load(dataset, "test")
        mean, log_var = vae.encode(images)
        figure, (left, right) = plt.subplots(1, 2, figsize=(12, 6), dpi=100)
        scatter = left.scatter(
            mean[:, 0], mean[:, 1], c=labels, cmap="tab10", s=2, alpha=0.6
        )
        left.set_xlim(-4, 4)
        left.set_ylim(-4, 4)
        left.set_aspect("equal")
        left.set_title("Means of q(z|x), 10,000 test images, by class")
        figure.colorbar(scatter, ax=left, ticks=range(10), fraction=0.046)
        ticks = np.linspace(-3, 3, 15)
        grid = np.stack(np.meshgrid(ticks, ticks[::-1]), -1).reshape(-1, 2)
        decoded = image_grid(vae.decode(grid), columns=15, padding=0)
        right.imshow(decoded, cmap="gray", extent=(-3.2, 3.2, -3.2, 3.2))
        right.set_title("Decoded points of the plane, z in [-3, 3]^2")
        figure.tight_layout()
        with atomic_write(path) as f:
            figure.savefig(f, format="png")
        plt.close(figure)

    return write


def _kwargs(kwargs):
    """`{"hidden": (1024, 512)}` as ` (hidden=(1024, 512))`; "" if empty."""
    if not kwargs:
        return ""
    return " (" + ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) + ")"


def model_card(name, config, metadata):
    """The README.md of a preset."""
    m = metadata["metrics"]
    t = metadata["training"]
    conditional = config.model == "conditional"
    if config.model == "vq":
        table = (
            ("reconstruction", "reconstruction NLL, -log p(x\\|z_q)", ".2f"),
            (
                "psnr",
                "PSNR (dB), pixel probabilities against the images",
                ".2f",
            ),
            ("mse", "mean squared error per pixel", ".4f"),
            ("perplexity", "codebook perplexity (test codes)", ".1f"),
        )
    else:
        table = (
            (
                "nll",
                (
                    "NLL given the label, -log p(x\\|c), "
                    if conditional
                    else "NLL, "
                )
                + f"importance-weighted, k={m['num_importance_samples']}",
                ".2f",
            ),
            ("elbo", "ELBO", ".2f"),
            # Pipes escaped: a bare `|` would split the table's cells.
            ("kl", "KL(q(z\\|x) \\|\\| p(z))", ".2f"),
            ("reconstruction", "reconstruction NLL, -E_q[log p(x\\|z)]", ".2f"),
        )
    rows = "\n".join(
        f"| {label} | {m[key]:{spec}} |" for key, label, spec in table
    )
    if config.model == "vq":
        rows += f"\n| codes used | {m['codes_used']} of {m['num_embeddings']} |"
        spread = (
            "Reconstruction standard error over the test images: "
            f"{m['reconstruction_standard_error']:.2f}."
        )
    else:
        spread = (
            "NLL standard error over the test images: "
            f"{m['nll_standard_error']:.2f}."
        )
    how = (
        f"Evaluated in {m['eval_seconds']:.0f} s with "
        f"`python -m zoo.evaluate {name}`."
    )
    latent = (
        "\n![latent plane](latent_plane.png)\n"
        if config.latent_dim == 2
        else ""
    )
    model_class, sampling = "VAE", "images = vae.sample(16, seed=0)"
    classes = vq_note = ""
    if config.model == "conditional":
        model_class = "ConditionalVAE"
        sampling = "sevens = vae.sample(16, condition=7, seed=0)"
        c = m["class_accuracy"]
        per_class = ", ".join(f"{a:.1%}" for a in c["per_class"])
        classes = f"""
## Does it draw the class asked for?

An independent classifier, {c["classifier"]}
(its own test accuracy: {c["classifier_test_accuracy"]:.2%}), recognises the
class asked for in **{c["accuracy"]:.2%}** of {c["num_samples"]:,} samples
({c["num_samples"] // len(c["per_class"]):,} per class: prior draws decoded
to pixel probabilities). Per class, 0 to {len(c["per_class"]) - 1}:
{per_class}.
"""
    elif config.model == "hierarchical":
        model_class = "HierarchicalVAE"
    elif config.model == "vq":
        model_class = "VQVAE"
        vq_note = (
            ". A VQ-VAE has no likelihood bound: it is measured by its "
            "reconstruction of each image from its codes, and its "
            "codebook use"
        )
        sampling = (
            "codes = vae.encode(images)  # 16 code indices per image\n"
            "textures = vae.sample(16, seed=0)  # independent codes"
        )
    objective = config.objective
    if config.num_samples > 1:
        objective += f", k={config.num_samples}"
    if config.kl_warmup_steps:
        objective += f", KL warm-up over {config.kl_warmup_steps:,} steps"
    latent_text = f"{config.latent_dim}-d latent"
    if config.model == "vq":
        objective = "reconstruction + codebook and commitment losses"
        latent_text = f"codes of size {config.latent_dim}"
    if config.prior is not None:
        latent_text += f", {config.prior['class_name']} prior" + _kwargs(
            config.prior.get("config", {})
        )
    hours = t["wall_time_s"] / 3600
    notes = list(t.get("notes", []))
    if t.get("stopped_s"):
        stopped = t["stopped_s"] / 60
        notes.insert(0, f"Not counted: {stopped:.0f} min while stopped.")
    notes = "".join(f"\n- {note}" for note in notes)
    images = f"{metadata['protocol']['num_images']:,}"
    test_set = f"On the {metadata['dataset']} test set ({images} images, fixed"
    warning = ""
    if metadata.get("departures"):
        warning = (
            "**Not the preset's full protocol:** "
            + "; ".join(metadata["departures"])
            + ".\n\n"
        )
    return f"""# {name}

{config.description}

```python
import keras_vae

vae = keras_vae.{model_class}.from_preset("{name}")
{sampling}
```

## Metrics

{warning}{test_set} stochastic
binarization with the pinned seed of `keras_vae.datasets`), in nats per
image (lower is better for NLL){vq_note}:

| metric | value |
|---|---|
{rows}

{spread}
{how}
{classes}
## Model

- Architecture: `{config.architecture}`{_kwargs(config.architecture_kwargs)},
  {latent_text}, Bernoulli decoder (logits),
  {metadata["parameters"]:,} parameters.
- Objective: {objective}.
- Training: `{t["command"]}` — {t["epochs"]} epochs on the
  `{t["split"]}` split with dynamic binarization, batch {config.batch_size},
  Adam {config.learning_rate:g} with cosine decay to
  {config.final_learning_rate:g}, seed {config.seed}; {hours:.1f} h
  on the {t["backend"]} backend, {t["hardware"]}.{notes}

## Samples from the prior

![samples](samples.png)

## Reconstructions (test images, then their reconstructions)

![reconstructions](reconstructions.png)
{latent}"""


class PublishError(ValueError):
    """A run that cannot be published as it is: its evaluation is of
    earlier weights, or it departs from the preset's protocol."""


def departures(config, state, protocol):
    """How a run and its evaluation depart from the preset's protocol.

    Args:
        config: the preset's `keras_vae.training.configs` config.
        state: the run's `state.json`.
        protocol: the `protocol` of its `eval.json`.

    Returns:
        A list of sentences, empty for a run of every epoch of the config on
        its split, evaluated with k = `DEFAULT_NUM_SAMPLES` on the whole
        test set.
    """
    from zoo.evaluate import DEFAULT_NUM_SAMPLES

    found = []
    done = state.get("epochs_done", 0)
    if done != config.epochs:
        found.append(f"trained {done} of the config's {config.epochs} epochs")
    settings = state.get("settings")
    if settings is None:
        found.append(
            "the run's epochs and split are not on record (a run of an "
            "earlier zoo.train: resume it once to record them)"
        )
    else:
        if settings["epochs"] != config.epochs:
            found.append(
                f"trained with a learning-rate schedule of "
                f"{settings['epochs']} epochs, not {config.epochs}"
            )
        if settings["split"] != config.train_split:
            found.append(
                f"trained on the split {settings['split']!r}, not "
                f"{config.train_split!r}"
            )
    k = None if config.model == "vq" else DEFAULT_NUM_SAMPLES
    return found + evaluation_departures(config.dataset, protocol, k)


def evaluation_departures(dataset, protocol, num_samples):
    """How an evaluation's `protocol` departs from the whole test set of
    `dataset` at k = `num_samples` (None: no k, a VQ-VAE's): a list of
    sentences, empty if not."""
    found = []
    num_test = len(datasets.load_binarized_test_set(dataset)[0])
    if protocol["num_images"] != num_test:
        found.append(
            f"evaluated on {protocol['num_images']} test images, not all "
            f"{num_test:,}"
        )
    k = protocol["num_importance_samples"]
    if num_samples is not None and k != num_samples:
        found.append(f"evaluated with k={k}, not k={num_samples}")
    return found


def publish(name, workdir=None, output_root=None, hardware=None, partial=False):
    """Publishes `runs/<name>` as the preset `<output_root>/<name>`.

    Args:
        name: str. A preset of `keras_vae.training.PRESETS`.
        workdir: str. The run's directory (checkpoint, `state.json` and the
            `eval.json` of `zoo.evaluate`); default `default_workdir(name)`.
        output_root: str. Where the preset directory goes; default the
            package's presets.
        hardware: str or None. What trained the model; None takes what
            `zoo.train` recorded in `state.json` (or describes this machine).
        partial: bool. Publish a run that departs from the preset's
            protocol (fewer epochs, another split, part of the test set,
            another k: a preview, a test); its metadata (`"departures"`)
            and card say how. False refuses such a run.

    Returns:
        The preset directory.

    Raises:
        FileNotFoundError: If the run has no checkpoint or no evaluation.
        PublishError: If the evaluation is older than the checkpoint, or
            the run departs from the protocol and `partial` is False.
        RunFileError: If the checkpoint or `state.json` is damaged.
    """
    config = configs.get_config(name)
    workdir = workdir or default_workdir(name)
    output_root = output_root or PRESETS_DIR
    checkpoint = os.path.join(workdir, "checkpoint.keras")
    evaluation = os.path.join(workdir, "eval.json")
    for path, command in (
        (checkpoint, f"python -m zoo.train {name}"),
        (evaluation, f"python -m zoo.evaluate {name}"),
    ):
        if not os.path.exists(path):
            raise FileNotFoundError(f"{path} is missing: run `{command}`.")
    if os.path.getmtime(evaluation) < os.path.getmtime(checkpoint):
        raise PublishError(
            f"{evaluation} is older than {checkpoint}: it evaluated earlier "
            f"weights. Run `python -m zoo.evaluate {name}` again first."
        )
    with open(evaluation) as f:
        metrics = json.load(f)
    state = read_state(workdir)
    vae = load_checkpoint(workdir)
    protocol = metrics.pop("protocol")
    found = departures(config, state, protocol)
    if found and not partial:
        raise PublishError(
            f"the run in {workdir} departs from the protocol of the preset "
            f"{name}: {'; '.join(found)}. Finish it (`python -m zoo.train "
            f"{name}` for the training, `python -m zoo.evaluate {name}` for "
            "the evaluation), or publish it as it is with `--partial`."
        )
    metadata = {
        "name": name,
        "description": config.description,
        "dataset": config.dataset,
        "latent_dim": config.latent_dim,
        "architecture": config.architecture,
        "architecture_kwargs": config.architecture_kwargs,
        "objective": config.objective,
        "num_samples": config.num_samples,
        "metrics": {
            **{
                key: value
                for key, value in metrics.items()
                if key not in ("seconds", "model", "class_accuracy")
            },
            "num_importance_samples": protocol["num_importance_samples"],
            "eval_seconds": metrics["seconds"],
        },
        "protocol": protocol,
        "model": config.model,
        "training": {
            "command": state.get("command", f"python -m zoo.train {name}"),
            "epochs": state.get("epochs_done"),
            "split": state.get("settings", {}).get("split"),
            "binarization": "dynamic",
            "batch_size": config.batch_size,
            "seed": config.seed,
            # Time it ran; time stopped (kill -STOP) is counted apart.
            "wall_time_s": round(state.get("wall_time_s", 0.0), 1),
            "stopped_s": round(state.get("stopped_s", 0.0), 1),
            "notes": state.get("notes", []),
            "backend": state.get("backend"),
            "versions": state.get("versions"),
            "hardware": (
                hardware or state.get("hardware") or describe_hardware()
            ),
        },
    }
    if found:
        metadata["departures"] = found
    if config.model == "conditional" and "class_accuracy" not in metrics:
        raise PublishError(
            f"{evaluation} has no class accuracy, which a conditional "
            f"preset's card reports: run `python -m zoo.evaluate {name}` "
            "again."
        )
    if "class_accuracy" in metrics:
        metadata["metrics"]["class_accuracy"] = metrics["class_accuracy"]
    if config.prior is not None:
        metadata["prior"] = config.prior
    if config.model_kwargs:
        metadata["model_kwargs"] = config.model_kwargs
    if config.model == "vq":
        # Its prior: the codes of the training images, binarized once.
        grey, _ = datasets.load(config.dataset, config.train_split)
        train = datasets.binarize(grey, datasets.FIXED_BINARIZATION_SEED)
        vae.fit_prior(train)
        metadata["training"]["prior"] = (
            "independent categorical per code position, fitted on the codes "
            f"of the {len(train):,} training images (fixed binarization)"
        )
    metadata["parameters"] = int(vae.count_params())
    extra = {"reconstructions.png": reconstructions_figure(vae, config.dataset)}
    if config.latent_dim == 2:
        extra["latent_plane.png"] = latent_plane_figure(vae, config.dataset)

    def write_card(path):
        with open(path, "w") as f:
            f.write(model_card(name, config, metadata))

    extra["README.md"] = write_card
    directory = os.path.join(output_root, name)
    save_preset(vae, directory, metadata=metadata, extra_files=extra)
    if os.path.realpath(output_root) == os.path.realpath(PRESETS_DIR):
        _preset_io.pin(name, directory)
    print(f"published {name} to {directory}")
    return directory


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m zoo.publish",
        description="Publish a trained and evaluated run as a preset.",
    )
    parser.add_argument("preset", choices=sorted(configs.RECIPES))
    parser.add_argument(
        "--workdir", help="default: ~/.cache/keras_vae/runs/<preset>"
    )
    parser.add_argument(
        "--output-root", help=f"default: {PRESETS_DIR} (the package)"
    )
    parser.add_argument(
        "--hardware",
        help="what trained the model; default: what zoo.train recorded",
    )
    parser.add_argument(
        "--partial",
        action="store_true",
        help="publish a run that departs from the preset's protocol "
        "(fewer epochs, another split or k, part of the test set)",
    )
    args = parser.parse_args(argv)
    try:
        publish(
            args.preset,
            workdir=args.workdir,
            output_root=args.output_root,
            hardware=args.hardware,
            partial=args.partial,
        )
    except (FileNotFoundError, PublishError, RunFileError) as e:
        parser.error(str(e))


if __name__ == "__main__":
    main()
