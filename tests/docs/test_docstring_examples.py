"""The `Example:` of every public class, function and method runs.

The public API is what each module exports (`__all__`, or the public
functions and classes it defines); the examples are the ```python blocks
of their docstrings, each run on its own in a fresh namespace, in a
temporary working directory. An example that loads a zoo preset by name
waits for the preset to be published (see `_blocks.py`).
"""

import importlib
import inspect

import keras
import pytest
from _blocks import python_blocks

MODULES = (
    "keras_vae",
    "keras_vae.layers",
    "keras_vae.distributions",
    "keras_vae.likelihoods",
    "keras_vae.priors",
    "keras_vae.posteriors",
    "keras_vae.losses",
    "keras_vae.objectives",
    "keras_vae.models",
    "keras_vae.ops",
    "keras_vae.callbacks",
    "keras_vae.datasets",
    "keras_vae.presets",
    "keras_vae.evaluation",
    "keras_vae.utils",
    "keras_vae.utils.environment",
    "keras_vae.testing",
    "keras_vae.cli",
    "keras_vae.cli.catalog",
    "keras_vae.cli.images",
    "keras_vae.cli.scores",
    "keras_vae.cli.training",
    "keras_vae.training",
    "keras_vae.training.distributed",
    "keras_vae.export",
)


def _public_names(module):
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    return [
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isfunction(value) or inspect.isclass(value))
        and value.__module__ == module.__name__
    ]


def public_api():
    """(qualified name, object) of every public module, class, function and
    method, each object once."""
    found = []
    seen = set()
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        found.append((module_name, module))
        for name in _public_names(module):
            value = getattr(module, name)
            if not (inspect.isclass(value) or inspect.isfunction(value)):
                continue  # Modules (listed above), constants.
            if id(value) in seen:
                continue
            seen.add(id(value))
            found.append((f"{module_name}.{name}", value))
            if not inspect.isclass(value):
                continue
            for attribute, member in vars(value).items():
                if isinstance(member, (classmethod, staticmethod)):
                    member = member.__func__
                if (
                    not attribute.startswith("_")
                    and inspect.isfunction(member)
                    and member.__doc__
                ):
                    found.append((f"{module_name}.{name}.{attribute}", member))
    return found


API = public_api()
EXAMPLES = [
    block
    for name, value in API
    for block in python_blocks(inspect.getdoc(value) or "", name)
]


def _needs_example(value):
    if inspect.isclass(value):
        return not issubclass(value, BaseException)
    return inspect.isfunction(value)


def test_every_public_class_and_function_has_an_example():
    top_level = [
        (name, value)
        for name, value in API
        if not inspect.ismodule(value) and name.count(".") <= 2
    ]
    missing = [
        name
        for name, value in top_level
        if _needs_example(value)
        and not python_blocks(inspect.getdoc(value) or "", name)
    ]
    assert not missing, f"public API without a ```python example: {missing}"


@pytest.mark.parametrize(
    "block", EXAMPLES, ids=[block.source for block in EXAMPLES]
)
def test_docstring_example(block, tmp_path, monkeypatch):
    reason = block.skip_reason(keras.backend.backend())
    if reason is not None:
        pytest.skip(reason)
    monkeypatch.chdir(tmp_path)
    exec(compile(block.code, block.source, "exec"), {"__name__": "__docs__"})


PRESET_EXAMPLES = [block for block in EXAMPLES if block.presets]


@pytest.mark.parametrize(
    "block", PRESET_EXAMPLES, ids=[block.source for block in PRESET_EXAMPLES]
)
def test_preset_docstring_example_on_tiny_presets(
    block, tmp_path, monkeypatch, use_stand_ins
):
    """Examples that load a zoo preset, run on a tiny stand-in for it."""
    monkeypatch.chdir(tmp_path)
    exec(compile(block.code, block.source, "exec"), {"__name__": "__docs__"})
