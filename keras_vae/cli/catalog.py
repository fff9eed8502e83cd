"""`keras-vae list`: the presets shipped with keras_vae."""

import json

FAMILIES = {
    "vae": "VAEs",
    "hierarchical": "Hierarchical VAEs",
    "conditional": "Conditional VAEs (sample with --condition)",
    "vq": "VQ-VAEs (no likelihood bound: reconstruction)",
}


def _row(preset):
    """A preset's cells: its test NLL, or a VQ-VAE's reconstruction."""
    metrics = preset["metrics"] or {}
    if preset["family"] == "vq" and metrics.get("psnr") is not None:
        score = (
            f"recon. {metrics['reconstruction']:.2f} nats, "
            f"PSNR {metrics['psnr']:.1f} dB"
        )
    elif metrics.get("nll") is None:
        score = "-"
    else:
        score = f"NLL {metrics['nll']:.2f}"
        if metrics.get("num_importance_samples"):
            score += f" (k={metrics['num_importance_samples']})"
        accuracy = (metrics.get("class_accuracy") or {}).get("accuracy")
        if accuracy is not None:
            score += f", class {accuracy:.1%}"
    parameters = preset["parameters"]
    return (
        preset["name"],
        str(preset["dataset"] or "-"),
        str(preset["latent_dim"] or "-"),
        "-" if parameters is None else f"{parameters:,}",
        score,
    )


def list_command(args):
    """`keras-vae list [--json]`: the presets shipped with keras_vae, by
    family.

    Args:
        args: the parsed `argparse.Namespace`.

    Returns:
        The exit status, 0.

    Example:

    ```python
    from keras_vae.cli import main

    main(["list"])
    ```
    """
    from keras_vae.presets import PRESETS_DIR
    from keras_vae.presets import list_presets

    presets = list_presets()
    if args.json:
        print(json.dumps(presets, indent=2))
        return 0
    if not presets:
        print(f"No presets installed (in {PRESETS_DIR}).")
        return 0
    header = ("NAME", "DATASET", "LATENT", "PARAMS", "TEST SCORE")
    rows = []
    for family, title in FAMILIES.items():
        members = [p for p in presets if p["family"] == family]
        if members:
            rows.append((f"{title}:",))
            rows += [_row(preset) for preset in members]
    others = [p for p in presets if p["family"] not in FAMILIES]
    if others:
        rows.append(("Other:",))
        rows += [_row(preset) for preset in others]
    widths = [
        max(len(row[i]) for row in [header, *rows] if len(row) > 1)
        for i in range(len(header))
    ]
    for row in [header, *rows]:
        if len(row) == 1:  # A family's title.
            print(f"\n{row[0]}")
            continue
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    noun = "preset" if len(presets) == 1 else "presets"
    print(f"\n{len(presets)} {noun} in {PRESETS_DIR}")
    return 0


def add_commands(commands):
    """Adds the sub-parsers of `list` to `commands`."""
    p = commands.add_parser(
        "list",
        help="list the presets and their test scores, by family",
        description="List the presets that ship with keras_vae, by family: "
        "data set, latent dimension, parameters and test NLL (a VQ-VAE's "
        "reconstruction).",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(function=list_command)
