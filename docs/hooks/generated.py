"""MkDocs hook: the parts of the site generated from files of the repository.

Declared in `mkdocs.yml` (`hooks:`), it fills the placeholders the pages
leave, so that the site never drifts from what it documents:

- `<!-- zoo:table -->` and `<!-- zoo:details -->` (docs/zoo.md): a table of
  the presets and a section per preset, from each
  `keras_vae/presets/<name>/metadata.json`, with the preset's own
  `samples.png`, `reconstructions.png` and `latent_plane.png` copied into
  the site.
- `<!-- zoo:run-notes -->` (docs/maintainers.md): what the zoo page leaves
  out, for maintainers: the time each preset's run was stopped and the
  notes of its run.
- `<!-- benchmarks:nll -->` (docs/benchmarks.md): test NLLs of the MNIST
  presets beside published results.
- `<!-- benchmarks:throughput -->`, `<!-- benchmarks:likelihood -->`,
  `<!-- benchmarks:pythae -->`, `<!-- benchmarks:datasets -->`,
  `<!-- benchmarks:priors -->`, `<!-- benchmarks:cvae -->`,
  `<!-- benchmarks:family -->`, `<!-- benchmarks:anomaly -->`,
  `<!-- benchmarks:finetune -->`, `<!-- benchmarks:family_throughput -->`
  and `<!-- benchmarks:mixed_precision -->`: tables
  from `docs/benchmarks.json`, which the benchmark scripts' results are
  copied into.
- `<!-- figure: NAME -->`, right under a figure: its caption, from
  `docs/figures/figures.json`, which `scripts/make_figures.py` writes: which
  preset (or stand-in) drew the figure.

The functions that make the markdown take plain paths, so tests call them
directly. The presets directory is `keras_vae/presets/` beside
`mkdocs.yml`, or `$KERAS_VAE_DOCS_PRESETS_DIR` (tests point it at a
temporary directory). Nothing here imports keras: the build stays fast and
independent of the Keras backend.
"""

import json
import logging
import os
import posixpath
import re

log = logging.getLogger("mkdocs.hooks.keras_vae")

PRESETS_DIR_ENV = "KERAS_VAE_DOCS_PRESETS_DIR"
PRESET_IMAGES = ("samples.png", "reconstructions.png", "latent_plane.png")
ZOO_URL = "zoo"  # Where the presets' images go in the site: zoo/<name>/.

# Published test NLLs on binarized MNIST, nats (lower is better).
PUBLISHED_NLL = (
    {
        "model": "VAE, 1 stochastic layer, k = 1 (trained on the ELBO)",
        "nll": 86.76,
        "source": "Burda, Grosse and Salakhutdinov (2015), "
        "*Importance Weighted Autoencoders*, Table 1",
    },
    {
        "model": "IWAE, 2 stochastic layers, k = 50 (their best)",
        "nll": 82.90,
        "source": "Burda, Grosse and Salakhutdinov (2015), "
        "*Importance Weighted Autoencoders*, Table 1",
    },
)

_FIGURE = re.compile(r"<!--\s*figure:\s*([\w-]+)\s*-->")


# ----------------------------------------------------------------------
# Reading the repository.


def repo_root(config):
    return os.path.dirname(os.path.abspath(config["config_file_path"]))


def presets_dir(root):
    return os.environ.get(PRESETS_DIR_ENV) or os.path.join(
        root, "keras_vae", "presets"
    )


def read_presets(directory):
    """The metadata of every preset in `directory`, sorted by name."""
    presets = []
    if not os.path.isdir(directory):
        return presets
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name, "metadata.json")
        if name.startswith((".", "_")) or not os.path.isfile(path):
            continue
        with open(path) as f:
            metadata = json.load(f)
        metadata.setdefault("name", name)
        metadata["_directory"] = os.path.join(directory, name)
        presets.append(metadata)
    return presets


def read_json(path, default):
    if not os.path.exists(path):
        return default
    with open(path) as f:
        return json.load(f)


# ----------------------------------------------------------------------
# Formatting.


def _number(value, digits=2):
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def _nll(metrics):
    if metrics.get("nll") is None:
        return "—"
    text = f"**{metrics['nll']:.2f}**"
    if metrics.get("nll_standard_error") is not None:
        text += f" ± {metrics['nll_standard_error']:.2f}"
    return text


def _model_class(metadata):
    return {
        "conditional": "ConditionalVAE",
        "hierarchical": "HierarchicalVAE",
        "vq": "VQVAE",
    }.get(metadata.get("model"), "VAE")


def _score(metadata):
    """The table's test score: the NLL, or a VQ-VAE's reconstruction."""
    metrics = metadata.get("metrics", {})
    if metadata.get("model") == "vq":
        return (
            f"reconstruction {_number(metrics.get('reconstruction'))}, "
            f"PSNR {_number(metrics.get('psnr'), 1)} dB (no NLL)"
        )
    text = _nll(metrics)
    accuracy = (metrics.get("class_accuracy") or {}).get("accuracy")
    if accuracy is not None:
        text += f"; right class {accuracy:.1%}"
    return text


def _objective(metadata):
    if metadata.get("model") == "vq":
        return "reconstruction + VQ losses"
    objective = metadata.get("objective", "elbo")
    label = {"elbo": "ELBO", "iwae": "IWAE"}.get(objective, objective)
    if metadata.get("num_samples", 1) > 1:
        label += f", k = {metadata['num_samples']}"
    return label


def _architecture(metadata):
    architecture = metadata.get("architecture", "—")
    kwargs = metadata.get("architecture_kwargs") or {}
    hidden = kwargs.get("hidden")
    if metadata.get("model") == "conditional":
        widths = "-".join(str(h) for h in kwargs.get("hidden_units", []))
        return f"MLP 784+10-{widths}, one-hot labels in both networks"
    if architecture == "vq_mlp":
        model = metadata.get("model_kwargs") or {}
        return (
            "MLP 784-512-256 around 16 codes of size "
            f"{metadata.get('latent_dim')} ({model.get('num_embeddings')} in "
            "the codebook)"
        )
    prior = (metadata.get("prior") or {}).get("class_name")
    if prior:
        count = metadata["prior"].get("config", {}).get("num_components")
        suffix = f", {prior} ({count} pseudo-inputs)" if count else f", {prior}"
        metadata = {**metadata, "prior": None}
        return _architecture(metadata) + suffix
    if architecture == "mlp" and hidden:
        return "MLP " + "-".join(str(h) for h in [784, *hidden])
    if architecture == "conv_mlp" and hidden:
        widths = [metadata.get("latent_dim"), *reversed(hidden), 784]
        decoder = "-".join(str(h) for h in widths if h)
        return f"convolutional encoder, MLP decoder {decoder}"
    return {"conv": "convolutional encoder and decoder"}.get(
        architecture, architecture
    )


def _dataset(name):
    return {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}.get(
        name, name or "—"
    )


def _images(metadata):
    return [
        image
        for image in PRESET_IMAGES
        if os.path.isfile(os.path.join(metadata["_directory"], image))
    ]


def zoo_table(presets, image_prefix=ZOO_URL):
    """The markdown table of the presets (or a note that there is none)."""
    if not presets:
        return (
            '!!! note "No preset is published yet"\n'
            "    The presets are being trained. Each appears here, with its "
            "metrics and samples, as soon as `python -m zoo.publish NAME` "
            "writes it to `keras_vae/presets/NAME/`.\n"
        )
    lines = [
        "| Preset | Data | Latent | Model | Parameters | Test NLL (nats) "
        "| Samples |",
        "|---|---|---|---|---|---|---|",
    ]
    for metadata in presets:
        name = metadata["name"]
        images = _images(metadata)
        # Half the image's 484 pixels: each digit near its 28 pixels.
        thumbnail = (
            f"![samples of {name}]({image_prefix}/{name}/samples.png)"
            '{ .zoo-thumbnail width="242" loading="eager" }'
            if "samples.png" in images
            else "—"
        )
        parameters = metadata.get("parameters")
        lines.append(
            f"| [{name}](#{name}) | {_dataset(metadata.get('dataset'))} "
            f"| {metadata.get('latent_dim', '—')} "
            f"| {_architecture(metadata)}, {_objective(metadata)} "
            f"| {f'{parameters:,}' if parameters else '—'} "
            f"| {_score(metadata)} | {thumbnail} |"
        )
    k = sorted(
        {
            p.get("metrics", {}).get("num_importance_samples")
            for p in presets
            if p.get("metrics", {}).get("num_importance_samples")
        }
    )
    note = (
        "\nTest NLL: the importance-weighted estimate of −log p(x) with "
        f"k = {', '.join(str(x) for x in k) or '—'} samples per image, ± its "
        "standard error over the images, in nats per image (lower is "
        "better); a conditional preset's is −log p(x | label), and the "
        "share of its class-conditional samples an independent classifier "
        "recognises follows it. A VQ-VAE has no likelihood bound: its "
        "reconstruction NLL of each image from its codes, and PSNR. "
        "All on the 10,000 test images under the fixed binarization of "
        "`keras_vae.datasets` ([how we measure](tutorials/likelihood.md)).\n"
    )
    return "\n".join(lines) + "\n" + note


def zoo_details(presets, image_prefix=ZOO_URL):
    """One section per preset: description, how it was made, images."""
    sections = []
    for metadata in presets:
        name = metadata["name"]
        metrics = metadata.get("metrics", {})
        training = metadata.get("training", {})
        images = _images(metadata)
        lines = [f"## {name}", "", metadata.get("description", ""), ""]
        model_class = _model_class(metadata)
        sampling = {
            "ConditionalVAE": "sevens = vae.sample(16, condition=7, seed=0)",
            "VQVAE": "images = vae.sample(16, seed=0)  # independent codes",
        }.get(model_class, "images = vae.sample(16, seed=0)")
        lines += [
            "```python",
            "import keras_vae",
            "",
            f'vae = keras_vae.{model_class}.from_preset("{name}")',
            sampling,
            "```",
            "",
        ]
        facts = [
            ("Data", _dataset(metadata.get("dataset"))),
            (
                "Code size" if model_class == "VQVAE" else "Latent dimensions",
                metadata.get("latent_dim"),
            ),
            ("Architecture", _architecture(metadata)),
            ("Objective", _objective(metadata)),
            ("Parameters", f"{metadata.get('parameters', 0):,}"),
        ]
        if model_class == "VQVAE":
            facts += [
                (
                    "Test reconstruction",
                    f"{_number(metrics.get('reconstruction'))} nats "
                    "(−log p(x | decoded codes))",
                ),
                ("PSNR", f"{_number(metrics.get('psnr'), 1)} dB"),
                (
                    "Codebook",
                    f"{metrics.get('codes_used')} of "
                    f"{metrics.get('num_embeddings')} codes used, perplexity "
                    f"{_number(metrics.get('perplexity'), 1)}",
                ),
            ]
        else:
            facts += [
                (
                    "Test NLL",
                    f"{_nll(metrics)} nats "
                    f"(k = {metrics.get('num_importance_samples', '—')})",
                ),
                ("Test ELBO", f"{_number(metrics.get('elbo'))} nats"),
                ("KL", f"{_number(metrics.get('kl'))} nats"),
                (
                    "Reconstruction",
                    f"{_number(metrics.get('reconstruction'))} nats",
                ),
            ]
        classes = metrics.get("class_accuracy")
        if classes:
            facts.append(
                (
                    "Class asked for",
                    f"recognised in **{classes['accuracy']:.1%}** of "
                    f"{classes['num_samples']:,} samples by "
                    f"{classes['classifier']} (its test accuracy "
                    f"{classes['classifier_test_accuracy']:.1%})",
                )
            )
        if training.get("command"):
            facts.append(("Trained with", f"`{training['command']}`"))
        if training.get("epochs"):
            hours = (training.get("wall_time_s") or 0) / 3600
            facts.append(
                (
                    "Training",
                    f"{training['epochs']} epochs on `{training.get('split')}`"
                    f", {hours:.1f} h, {training.get('backend', '?')} "
                    f"backend, {training.get('hardware', '?')}",
                )
            )
        # Stopped time and the run's notes are for maintainers:
        # zoo_run_notes, on their page.
        facts.append(
            (
                "Evaluated with",
                f"`python -m zoo.evaluate {name} --source preset`",
            )
        )
        if metadata.get("keras_vae_version"):
            facts.append(
                (
                    "Versions",
                    f"keras_vae {metadata['keras_vae_version']}, Keras "
                    f"{metadata.get('keras_version', '?')}"
                    + (
                        f", {metadata['backend']} {metadata['backend_version']}"
                        if metadata.get("backend_version")
                        else ""
                    )
                    + f", {metadata.get('date', '')}",
                )
            )
        lines += [f"- **{key}**: {value}" for key, value in facts]
        lines.append("")
        captions = {
            "samples.png": {
                "VQVAE": "Samples: decoded code rows drawn position by "
                "position from the fitted categorical prior (no global "
                "structure: see the VQ-VAE tutorial).",
                "ConditionalVAE": "Samples: decoded prior draws, with the "
                "classes 0 to 9 as conditions.",
            }.get(model_class, "Samples: decoded draws from the prior."),
            "reconstructions.png": "Test images (odd columns) and their "
            "reconstructions (even columns).",
            "latent_plane.png": "The 2-d latent plane: the means of the "
            "test images by class, and the decoded plane.",
        }
        for image in images:
            width = ' width="320"' if image == "samples.png" else ""
            lines += [
                f"![{image[:-4]} of {name}]({image_prefix}/{name}/{image})"
                f'{{ loading="eager"{width} }}',
                "",
                f"*{captions[image]}*",
                "",
            ]
        sections.append("\n".join(lines))
    return "\n".join(sections)


def zoo_run_notes(presets):
    """For maintainers: each preset's stopped time and run notes."""
    lines = []
    for metadata in presets:
        training = metadata.get("training", {})
        facts = []
        if training.get("stopped_s"):
            stopped = training["stopped_s"] / 60
            facts.append(
                f"Not counted: {stopped:.0f} min while stopped "
                "(`training.stopped_s`)."
            )
        facts += list(training.get("notes") or [])
        if facts:
            name = metadata["name"]
            lines.append(f"- [`{name}`](zoo.md#{name}):")
            lines += [f"    - {fact}" for fact in facts]
    if not lines:
        return "No published preset has stopped time or notes.\n"
    return "\n".join(lines) + "\n"


def nll_table(presets):
    """Published MNIST test NLLs and those of the MNIST presets."""
    lines = [
        "| Model | Test NLL (nats) | Source |",
        "|---|---|---|",
    ]
    for row in PUBLISHED_NLL:
        lines.append(f"| {row['model']} | {row['nll']:.2f} | {row['source']} |")
    mnist = [
        p
        for p in presets
        if p.get("dataset") == "mnist"
        and p.get("metrics", {}).get("nll") is not None
        # -log p(x | label) is not comparable with -log p(x).
        and p.get("model", "vae") != "conditional"
    ]
    for metadata in mnist:
        metrics = metadata["metrics"]
        name = metadata["name"]
        lines.append(
            f"| keras_vae [`{name}`](zoo.md#{name}): "
            f"{_architecture(metadata)}, {metadata.get('latent_dim')}-d, "
            f"{_objective(metadata)}, "
            f"k = {metrics.get('num_importance_samples', '?')} "
            f"| {_nll(metrics)} "
            f"| `python -m zoo.evaluate {name} --source preset` |"
        )
    text = "\n".join(lines) + "\n"
    if not mnist:
        text += (
            '\n!!! note "keras_vae rows: not measured yet"\n'
            "    The rows of the keras_vae presets appear here, from their "
            "`metadata.json`, once the MNIST presets are published.\n"
        )
    return text


def _not_measured(command):
    return (
        '!!! note "Not measured yet"\n'
        f"    Run `{command}` and copy its results into "
        "`docs/benchmarks.json`; the table is made from that file.\n"
    )


def _provenance(entry):
    parts = [
        f"{key.replace('_', ' ')}: {entry[key]}"
        for key in ("hardware", "date", "keras_vae_version", "keras_version")
        if entry.get(key)
    ]
    text = f"\n*{'; '.join(parts)}.*\n" if parts else ""
    if entry.get("notes"):
        text += f"\n{entry['notes']}\n"
    return text


def _results_table(benchmarks, key, command, header, row):
    """A table of `benchmarks[key]["results"]`, one `row(result)` each,
    then the protocol and provenance of the entry; a note if unmeasured."""
    entry = benchmarks.get(key, {})
    results = entry.get("results") or []
    if not results:
        return _not_measured(entry.get("command", command))
    columns = header.count("|") - 1
    lines = [header, "|---" * columns + "|"]
    lines += [row(r) for r in results]
    text = "\n".join(lines) + "\n"
    if entry.get("protocol"):
        text += f"\nProtocol: {entry['protocol']}.\n"
    return text + _provenance(entry)


def throughput_table(benchmarks):
    def row(r):
        ratio = r.get("ratio") or r["keras_vae"] / r["plain_keras"]
        spread = r.get("ratio_quartiles")
        spread = f" ({spread[0]:.3f}–{spread[1]:.3f})" if spread else ""
        return (
            f"| {r['backend']} | {r['keras_vae']:,.0f} "
            f"| {r['plain_keras']:,.0f} | {ratio:.3f}{spread} |"
        )

    return _results_table(
        benchmarks,
        "training_throughput",
        "python benchmarks/bench_training.py --backend all",
        "| Backend | keras_vae (samples/s) | plain Keras (samples/s) "
        "| keras_vae / plain |",
        row,
    )


def likelihood_table(benchmarks):
    def row(r):
        if "ratio_to_matmul_limit" not in r:  # An entry of earlier versions.
            return (
                f"| {r['backend']} | {r['batch_size']} "
                f"| {r['samples_per_step']} | {r['rows_per_second']:,.0f} "
                "| | | "
                f"| {r['full_eval_minutes']:.0f} min |"
            )
        default = " (default)" if r.get("default") else ""
        return (
            f"| {r['backend']} | {r['batch_size']} "
            f"| {r['samples_per_step']}{default} "
            f"| {r['rows_per_second']:,.0f} | {r['gflops']} "
            f"| {r['ratio_to_matmul_limit']:.2f} "
            f"| {r['step_activations_mb']:.0f} MB "
            f"| {r['full_eval_minutes']:.0f} min |"
        )

    return _results_table(
        benchmarks,
        "likelihood_throughput",
        "python benchmarks/bench_likelihood.py --backend all",
        "| Backend | images per step | samples per step | decoder rows/s "
        "| GFLOP/s | / matmul limit | activations per step "
        "| projected k = 5000 test-set evaluation |",
        row,
    )


def family_throughput_table(benchmarks):
    names = {
        "cvae": "`ConditionalVAE`",
        "hvae": "`HierarchicalVAE` (2 levels)",
        "vae": "`VAE`",
    }

    def row(r):
        spread = r.get("ratio_quartiles")
        spread = f" ({spread[0]:.3f}–{spread[1]:.3f})" if spread else ""
        return (
            f"| {names.get(r['model'], r['model'])} | {r['backend']} "
            f"| {r['keras_vae']:,.0f} | {r['plain_keras']:,.0f} "
            f"| {r['ratio']:.3f}{spread} |"
        )

    return _results_table(
        benchmarks,
        "family_throughput",
        "python benchmarks/bench_training.py --backend all --model cvae",
        "| Model | Backend | keras_vae (samples/s) | plain Keras (samples/s) "
        "| keras_vae / plain |",
        row,
    )


def mixed_precision_table(benchmarks):
    def row(r):
        spread = r.get("speedup_quartiles")
        spread = f" ({spread[0]:.2f}–{spread[1]:.2f})" if spread else ""
        return (
            f"| {r['backend']} | {r['speedup']:.2f}x{spread} "
            f"| {r['float32_held_out_loss']:.2f} "
            f"| {r['mixed_held_out_loss']:.2f} |"
        )

    return _results_table(
        benchmarks,
        "mixed_precision",
        "python benchmarks/bench_training.py --backend all --policy "
        "mixed_bfloat16",
        "| Backend | speed-up of mixed_bfloat16 | held-out loss, float32 "
        "| held-out loss, mixed_bfloat16 |",
        row,
    )


def pythae_table(benchmarks):
    return _results_table(
        benchmarks,
        "vs_pythae",
        "python benchmarks/bench_vs_pythae.py",
        "| Library | training (samples/s) | test ELBO | test NLL (nats) |",
        lambda r: (
            f"| {r['library']} | {r['samples_per_second']:,.0f} "
            f"| {r['test_elbo']:.2f} "
            f"| {r['test_nll']:.2f} ± {r['test_nll_se']:.2f} |"
        ),
    )


_PRIOR_CONFIGS = {
    "standard": ("`StandardNormal`", "`DiagonalGaussian`"),
    "mog": ("`MixtureOfGaussians(10)`", "`DiagonalGaussian`"),
    "vamp": ("`VampPrior(500)`", "`DiagonalGaussian`"),
    "iaf": ("`StandardNormal`", "`InverseAutoregressiveFlow`"),
}


def priors_table(benchmarks):
    def row(r):
        prior, posterior = _PRIOR_CONFIGS.get(r["config"], ("?", "?"))
        if "nll" not in r:
            return f"| {prior} | {posterior} | {r['unfinished']} | | |"
        if "difference" in r:
            versus = (
                f"{r['difference']:+.2f} ± {r['difference_standard_error']:.2f}"
            )
        else:
            versus = "(reference)"
        return (
            f"| {prior} | {posterior} | {r['nll']:.2f} | {versus} "
            f"| {r['seconds_per_epoch']:.0f} |"
        )

    entry = benchmarks.get("priors", {})
    if entry.get("results"):
        entry = {
            **entry,
            "protocol": (
                f"`mnist_mlp_32` architecture, {entry['epochs']} epochs, "
                f"test NLL with k = {entry['num_samples']} on "
                f"{entry['num_images']:,} test images, backend "
                f"{entry['backend']}; the difference is paired, image by "
                "image, against the first row (negative: better)"
            ),
        }
    return _results_table(
        {"priors": entry},
        "priors",
        "python benchmarks/compare_priors.py",
        "| Prior | Posterior | test NLL (nats) | vs N(0, I) (nats) "
        "| s / epoch |",
        row,
    )


def cvae_table(benchmarks):
    def row(r):
        per_digit = " | ".join(f"{a:.1%}" for a in r["per_digit"])
        return (
            f"| {r['latent_dim']} | **{r['accuracy']:.1%}** | {per_digit} "
            f"| {r['test_nll_right_labels']:.2f} "
            f"| {r['test_nll_wrong_labels']:.2f} |"
        )

    entry = benchmarks.get("cvae", {})
    if entry.get("results"):
        entry = {
            **entry,
            "protocol": (
                f"{entry['samples']:,} samples, as many of each digit, "
                f"after {entry['epochs']} epochs, backend "
                f"{entry['backend']}; the classifier's own accuracy on the "
                f"10,000 test images: "
                f"{entry['classifier_test_accuracy']:.1%}; test NLL with "
                f"k = {entry['num_samples']}, given each image's label, or "
                "the next digit's"
            ),
        }
    digits = " | ".join(str(d) for d in range(10))
    return _results_table(
        {"cvae": entry},
        "cvae",
        "python benchmarks/cvae_class_accuracy.py",
        f"| Latent dimensions | recognised as asked | {digits} "
        "| NLL, right label | NLL, wrong label |",
        row,
    )


_FAMILIES = {
    "vae": "`VAE` (ELBO)",
    "cvae": "`ConditionalVAE`",
    "beta_tcvae": "`VAE`, `BetaTCVAE(tc_weight=6)`",
    "mmd": "`VAE`, `MMD(weight=100)`, `beta=0`",
    "hierarchical": "`HierarchicalVAE`, 2 levels",
    "vqvae": "`VQVAE`, 16 codes from 64",
}
_FAMILY_EXTRAS = {
    "class_accuracy": ("samples recognised as asked", "{:.1%}"),
    "test_total_correlation": ("total correlation", "{:.1f} nats"),
    "mmd": ("MMD²", "{:.4f}"),
    "perplexity": ("codes in use (perplexity)", "{:.1f}"),
    "reconstruction_bce": ("reconstruction BCE", "{:.2f} nats"),
}


def family_table(benchmarks):
    def number(r, key):
        value = r.get(key)
        return "–" if value is None else f"{value:.2f}"

    def row(r):
        extras = [
            f"{label}: {form.format(r[key])}"
            for key, (label, form) in _FAMILY_EXTRAS.items()
            if r.get(key) is not None
        ]
        extras += [
            f"{key}: {r[key]:.2f}"
            for key in sorted(r)
            if key.startswith("kl_") and r[key] is not None
        ]
        return (
            f"| {_FAMILIES.get(r['family'], r['family'])} "
            f"| {number(r, 'elbo')} | {number(r, 'nll')} "
            f"| {number(r, 'reconstruction')} | {number(r, 'kl')} "
            f"| {'; '.join(extras)} | {r['seconds_per_epoch']:.0f} |"
        )

    entry = benchmarks.get("family", {})
    if entry.get("results"):
        entry = {
            **entry,
            "protocol": (
                f"MNIST, {entry['epochs']} epochs each, the same MLP widths; "
                f"the 10,000 fixed binarized test images, NLL with k = "
                f"{entry['num_samples']}; backend {entry['backend']}; "
                f"measured by `{entry['command']}`"
            ),
        }
    return _results_table(
        {"family": entry},
        "family",
        "python benchmarks/bench_family.py",
        "| Model | test ELBO | test NLL | reconstruction | KL | also "
        "| s / epoch |",
        row,
    )


_ANOMALY_EXPERIMENTS = {
    "digit_9": ("MNIST digits 0-8", "test 0-8", "test nines"),
    "mnist_vs_fashion": ("MNIST", "MNIST test", "Fashion-MNIST test"),
    "fashion_vs_mnist": ("Fashion-MNIST", "Fashion-MNIST test", "MNIST test"),
}


def anomaly_table(benchmarks):
    def row(r):
        trained, inside, outside = _ANOMALY_EXPERIMENTS.get(
            r["experiment"], (r["experiment"], "?", "?")
        )
        return (
            f"| {trained} | {inside} | {outside} "
            f"| {r['auroc_elbo']:.3f} | {r['auroc_log_likelihood']:.3f} "
            f"| {r['mean_log_likelihood_in']:.1f} "
            f"| {r['mean_log_likelihood_out']:.1f} |"
        )

    entry = benchmarks.get("anomaly", {})
    if entry.get("results"):
        entry = {
            **entry,
            "protocol": (
                f"a VAE (MLP 784-512-256-(32), Bernoulli) trained "
                f"{entry['epochs']} epochs on the first column's training "
                f"images; scores with k = {entry['num_samples']} on the "
                f"fixed binarized test images; backend {entry['backend']}; "
                f"measured by `{entry['command']}`"
            ),
        }
    return _results_table(
        {"anomaly": entry},
        "anomaly",
        "python benchmarks/anomaly.py",
        "| Trained on | In-distribution | Out | AUROC, ELBO "
        "| AUROC, log p(x) | mean log p(x), in | mean log p(x), out |",
        row,
    )


def finetune_table(benchmarks):
    def row(r):
        return f"| {r['model']} | {r['fashion_mnist']:.2f} | {r['mnist']:.2f} |"

    entry = benchmarks.get("finetune", {})
    if entry.get("results"):
        entry = {
            **entry,
            "protocol": (
                f"`{entry['preset']}` (trained on MNIST) and the same "
                f"network, {entry['epochs']} epochs on all 60,000 "
                "Fashion-MNIST training images (dynamic binarization, batch "
                f"128); test NLL with k = {entry['num_importance_samples']} "
                f"on the first {entry['num_test_images']:,} fixed binarized "
                f"test images of each data set; backend {entry['backend']}; "
                f"measured by `{entry['command']}`"
            ),
        }
    return _results_table(
        {"finetune": entry},
        "finetune",
        "python benchmarks/finetune.py",
        "| Model | Fashion-MNIST test NLL | MNIST test NLL |",
        row,
    )


def datasets_tables(benchmarks):
    entry = benchmarks.get("dataset_loading", {})
    command = entry.get("command", "python benchmarks/bench_datasets.py")
    load = entry.get("load_seconds") or {}
    feeds = entry.get("pipeline_throughput") or []
    if not load and not feeds:
        return _not_measured(command)
    text = ""
    if load:
        text += "| Data set | Load train + test, verified (s) |\n|---|---|\n"
        text += "".join(
            f"| {_dataset(name)} | {seconds:.2f} |\n"
            for name, seconds in load.items()
        )
    if feeds:
        text += (
            "\n| Backend | `load_dataset`, dynamic binarization "
            "(samples/s) | numpy arrays (samples/s) | ratio |\n"
            "|---|---|---|---|\n"
        )
        for r in feeds:
            ratio = r.get("ratio") or r["pipeline"] / r["arrays"]
            text += (
                f"| {r['backend']} | {r['pipeline']:,.0f} "
                f"| {r['arrays']:,.0f} | {ratio:.3f} |\n"
            )
    return text + _provenance(entry)


def figure_caption(name, manifest, zoo_page="zoo.md"):
    """The caption of a figure made by scripts/make_figures.py (markdown).

    Args:
        name: str. The figure, a key of `figures.json`.
        manifest: dict. The content of `figures.json`.
        zoo_page: str. The zoo page, relative to the page of the figure.

    Returns:
        A markdown paragraph, or None if the figure is not in the manifest.
    """
    entry = manifest.get(name)
    if entry is None:
        return None
    presets = []
    stand_ins = []
    for info in entry.get("models", {}).values():
        if not isinstance(info, dict) or "kind" not in info:
            continue
        target = stand_ins if info["kind"] == "stand-in" else presets
        if info not in target:
            target.append(info)
    command = entry.get("command", "python scripts/make_figures.py")
    text = f"Drawn by `{command}`"
    if presets:
        names = ", ".join(
            f"[`{p['preset']}`]({zoo_page}#{p['preset']})" for p in presets
        )
        text += f" from the preset{'s' if len(presets) > 1 else ''} {names}"
    if stand_ins:
        plural = len(stand_ins) > 1
        details = "; ".join(
            f"`{s['preset']}`: {s.get('epochs', '?')} epochs on "
            f"{s.get('images', 0):,} images, {s.get('seconds', 0):.0f} s"
            for s in stand_ins
        )
        text += (
            f"{' and' if presets else ''} from "
            f"{'stand-ins' if plural else 'a stand-in'} for the "
            f"preset{'s' if plural else ''} not published yet: "
            f"smaller {'MLPs' if plural else 'MLP'} (784-512-256, the "
            f"preset's latent dimension) trained briefly ({details}). "
            "`python scripts/make_figures.py` redraws it from the "
            f"preset{'s' if plural else ''} once published"
        )
    return f"*{text}.*\n{{ .figure-caption }}"


# ----------------------------------------------------------------------
# MkDocs events.


def on_files(files, config):
    from mkdocs.structure.files import File

    for metadata in read_presets(presets_dir(repo_root(config))):
        for image in _images(metadata):
            files.append(
                File.generated(
                    config,
                    f"{ZOO_URL}/{metadata['name']}/{image}",
                    abs_src_path=os.path.join(metadata["_directory"], image),
                )
            )
    return files


def on_page_markdown(markdown, page, config, files):
    if "<!--" not in markdown:
        return markdown
    root = repo_root(config)
    docs = config["docs_dir"]
    replacements = {}
    if "<!-- zoo:" in markdown or "<!-- benchmarks:nll" in markdown:
        presets = read_presets(presets_dir(root))
        replacements["<!-- zoo:table -->"] = lambda: zoo_table(presets)
        replacements["<!-- zoo:details -->"] = lambda: zoo_details(presets)
        replacements["<!-- zoo:run-notes -->"] = lambda: zoo_run_notes(presets)
        replacements["<!-- benchmarks:nll -->"] = lambda: nll_table(presets)
    if "<!-- benchmarks:" in markdown:
        benchmarks = read_json(os.path.join(docs, "benchmarks.json"), {})
        replacements["<!-- benchmarks:throughput -->"] = lambda: (
            throughput_table(benchmarks)
        )
        replacements["<!-- benchmarks:likelihood -->"] = lambda: (
            likelihood_table(benchmarks)
        )
        replacements["<!-- benchmarks:pythae -->"] = lambda: pythae_table(
            benchmarks
        )
        replacements["<!-- benchmarks:datasets -->"] = lambda: datasets_tables(
            benchmarks
        )
        replacements["<!-- benchmarks:priors -->"] = lambda: priors_table(
            benchmarks
        )
        replacements["<!-- benchmarks:cvae -->"] = lambda: cvae_table(
            benchmarks
        )
        replacements["<!-- benchmarks:anomaly -->"] = lambda: anomaly_table(
            benchmarks
        )
        replacements["<!-- benchmarks:family -->"] = lambda: family_table(
            benchmarks
        )
        replacements["<!-- benchmarks:finetune -->"] = lambda: finetune_table(
            benchmarks
        )
        replacements["<!-- benchmarks:family_throughput -->"] = lambda: (
            family_throughput_table(benchmarks)
        )
        replacements["<!-- benchmarks:mixed_precision -->"] = lambda: (
            mixed_precision_table(benchmarks)
        )
    for placeholder, make in replacements.items():
        if placeholder in markdown:
            markdown = markdown.replace(placeholder, make())

    if _FIGURE.search(markdown):
        manifest = read_json(os.path.join(docs, "figures", "figures.json"), {})
        zoo_page = posixpath.relpath(
            "zoo.md", posixpath.dirname(page.file.src_uri) or "."
        )

        def caption(match):
            text = figure_caption(match.group(1), manifest, zoo_page)
            if text is None:
                log.warning(
                    "%s: figure %r is not in docs/figures/figures.json: run "
                    "`python scripts/make_figures.py --only %s`.",
                    page.file.src_uri,
                    match.group(1),
                    match.group(1),
                )
                return ""
            return text

        markdown = _FIGURE.sub(caption, markdown)
    return markdown
