"""`keras-vae list`: the presets shipped with keras_vae."""

import json


def list_command(args):
    """`keras-vae list [--json]`: the presets shipped with keras_vae.

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
    header = ("NAME", "DATASET", "LATENT", "PARAMS", "TEST NLL (nats)")
    rows = [header]
    for preset in presets:
        metrics = preset["metrics"] or {}
        nll = metrics.get("nll")
        if nll is None:
            nll_text = "-"
        else:
            nll_text = f"{nll:.2f}"
            if metrics.get("num_importance_samples"):
                nll_text += f" (k={metrics['num_importance_samples']})"
        parameters = preset["parameters"]
        rows.append(
            (
                preset["name"],
                str(preset["dataset"] or "-"),
                str(preset["latent_dim"] or "-"),
                "-" if parameters is None else f"{parameters:,}",
                nll_text,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    noun = "preset" if len(presets) == 1 else "presets"
    print(f"\n{len(presets)} {noun} in {PRESETS_DIR}")
    return 0


def add_commands(commands):
    """Adds the sub-parsers of `list` to `commands`."""
    p = commands.add_parser(
        "list",
        help="list the presets and their test NLLs",
        description="List the presets that ship with keras_vae: data set, "
        "latent dimension, parameters and test NLL.",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(function=list_command)
