"""`keras-vae evaluate` and `compare`: test-set likelihoods of presets."""

import contextlib
import json
import sys

from keras_vae.cli._common import CommandError
from keras_vae.cli._common import _add_likelihood_options
from keras_vae.cli._common import _add_preset
from keras_vae.cli._common import _check_shape
from keras_vae.cli._common import _dataset_of
from keras_vae.cli._common import _inspect_preset
from keras_vae.cli._common import _load_checked
from keras_vae.cli._common import _paired_limit


def evaluate_command(args):
    """`keras-vae evaluate PRESET`: test NLL, ELBO, KL and reconstruction.

    The standard protocol of `keras_vae.evaluation.evaluate`: the fixed
    binarized test set, `-k` importance samples per image. The progress bar
    goes to stderr, the figures to stdout.

    Args:
        args: the parsed `argparse.Namespace`.

    Returns:
        The exit status, 0.

    Example:

    ```python
    from keras_vae.cli import main

    assert main(["evaluate", "mnist_mlp_2", "-k", "100", "--limit", "500"]) == 0
    ```
    """
    from keras_vae.evaluation import evaluate
    from keras_vae.training import distributed

    metadata = _inspect_preset(args.preset)
    dataset = _dataset_of(metadata, args)
    try:  # Before any computation: joins a run on several processes.
        distributed.initialize_from(args)
    except distributed.DistributedSettingsError as e:
        raise CommandError(str(e)) from None
    vae = _load_checked(
        args.preset,
        metadata,
        lambda shape: _check_shape(args.preset, shape, dataset),
        command="evaluate",
    )
    metrics = _estimate(evaluate, args, vae, dataset)
    if not distributed.is_chief():
        return 0  # Process 0 prints the result every process holds.
    metrics = {"preset": args.preset, **metrics}
    if args.json:
        print(json.dumps(metrics, indent=2))
        return 0
    print(f"{args.preset} on the {_protocol_line(metrics)}")
    error = metrics["nll_standard_error"]
    error = "" if error is None else f"+/- {error:.2f} "
    print(f"  NLL             {metrics['nll']:.2f} {error}nats")
    print(f"  ELBO            {metrics['elbo']:.2f} nats")
    print(f"  KL              {metrics['kl']:.2f} nats")
    print(f"  reconstruction  {metrics['reconstruction']:.2f} nats")
    published = (vae.preset_metadata.get("metrics") or {}).get("nll")
    if published is not None and dataset == vae.preset_metadata.get("dataset"):
        k = vae.preset_metadata["metrics"].get("num_importance_samples", "?")
        print(f"  (published NLL: {published:.2f}, k={k}, full test set)")
    return 0


def _estimate(function, args, *positional):
    """`evaluate` or `compare` with the likelihood options of `args`, its
    progress bars on stderr (stdout is for the figures)."""
    with contextlib.redirect_stdout(sys.stderr):
        return function(
            *positional,
            num_samples=args.num_samples,
            batch_size=args.batch_size,
            seed=args.seed,
            verbose=0 if args.quiet else "auto",
            limit=args.limit,
        )


def _protocol_line(result):
    """The estimate's header: `mnist test set (10,000 images, ...): ...`."""
    protocol = result["protocol"]
    images = protocol["num_images"]
    return (
        f"{protocol['dataset']} test set ({images:,} "
        f"image{'' if images == 1 else 's'}, fixed binarization), "
        f"k={protocol['num_importance_samples']}, backend "
        f"{protocol['backend']}, {result['seconds']} s:"
    )


def compare_command(args):
    """`keras-vae compare A B`: which of two presets models the test set better.

    The paired comparison of `keras_vae.evaluation.compare`: both presets'
    importance-weighted NLLs on the same test images, and the mean of the
    per-image differences with its standard error. The progress bars go to
    stderr, the figures to stdout.

    Args:
        args: the parsed `argparse.Namespace`.

    Returns:
        The exit status, 0.

    Example:

    ```python
    from keras_vae.cli import main

    argv = ["compare", "mnist_mlp_2", "mnist_mlp_32", "-k", "10"]
    assert main(argv + ["--limit", "100"]) == 0
    ```
    """
    from keras_vae.evaluation import compare

    names = [args.preset_a, args.preset_b]
    metadatas = [_inspect_preset(name) for name in names]
    datasets = [
        _dataset_of(metadata, args, name)
        for metadata, name in zip(metadatas, names)
    ]
    if datasets[0] != datasets[1]:
        raise CommandError(
            f"presets {names[0]!r} and {names[1]!r} model different data "
            f"sets ({datasets[0]} and {datasets[1]}): pass --dataset to "
            "compare them on one test set."
        )
    vaes = [
        _load_checked(
            name,
            metadata,
            lambda shape, name=name: _check_shape(name, shape, datasets[0]),
            command="compare",
        )
        for name, metadata in zip(names, metadatas)
    ]
    result = _estimate(compare, args, *vaes, datasets[0])
    result = {"preset_a": names[0], "preset_b": names[1], **result}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    difference = result["difference"]
    error = result["difference_standard_error"]
    width = max(len(name) for name in names)
    print(_protocol_line(result))
    print(f"  NLL  {names[0]:<{width}}  {result['nll_a']:.2f} nats")
    print(f"  NLL  {names[1]:<{width}}  {result['nll_b']:.2f} nats")
    print(
        f"  difference (A - B), paired over the images: {difference:+.2f} "
        f"+/- {error:.2f} nats; A is better on "
        f"{100 * result['a_better_fraction']:.1f}%, B on "
        f"{100 * result['b_better_fraction']:.1f}% of the images"
    )
    if abs(difference) > 3 * error:
        better = names[0] if difference < 0 else names[1]
        print(f"  {better} is better (|difference| > 3 standard errors)")
    else:
        print("  no clear winner (|difference| <= 3 standard errors)")
    return 0


def add_commands(commands):
    """Adds the sub-parsers of `evaluate`, `compare` to `commands`."""
    p = commands.add_parser(
        "evaluate",
        help="measure the test NLL, ELBO, KL and reconstruction",
        description="Evaluate on the fixed binarized test set: the "
        "importance-weighted NLL with K samples per image (Burda et al., "
        "2015), the ELBO and its terms, in nats per image.",
    )
    _add_preset(p)
    _add_likelihood_options(p, num_samples=5000)
    from keras_vae.training.distributed import add_arguments

    add_arguments(p, "shares the test images")
    p.set_defaults(function=evaluate_command)

    p = commands.add_parser(
        "compare",
        help="compare two presets' test NLLs, image by image",
        description="Compare two presets on the same fixed binarized test "
        "images: both importance-weighted NLLs with K samples per image, and "
        "the mean per-image difference with its standard error (a paired "
        "test, much sharper than the two NLLs' own error bars).",
    )
    p.add_argument(
        "preset_a", metavar="A", help="a preset name or a preset directory"
    )
    p.add_argument(
        "preset_b", metavar="B", help="a preset name or a preset directory"
    )
    _add_likelihood_options(p, num_samples=1000, limit_type=_paired_limit)
    p.set_defaults(function=compare_command)
