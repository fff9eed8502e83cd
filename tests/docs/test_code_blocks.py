"""Every Python code block of the docs and the README runs.

Each page's blocks run in order, in one namespace, on the current
`KERAS_BACKEND`, in a temporary working directory; see `_blocks.py` for the
markers that make a block wait for a preset or a backend. The blocks the
zoo page gets from the presets' metadata (through the docs hook) run too.
"""

import os

import keras
import pytest
from _blocks import PRESETS_DIR
from _blocks import REPO
from _blocks import markdown_pages
from _blocks import python_blocks
from _blocks import zoo_preset_names
from _fixtures import load_hook


def _pages_with_blocks():
    pages = []
    for name, path in markdown_pages():
        with open(path) as f:
            if python_blocks(f.read(), name):
                pages.append((name, path))
    return pages


PAGES = _pages_with_blocks()


def run_blocks(blocks, tmp_path, monkeypatch, presets_dir=PRESETS_DIR):
    """Runs blocks in one namespace; returns the reasons of those skipped."""
    monkeypatch.chdir(tmp_path)
    # Blocks that start Python processes find keras_vae even uninstalled.
    path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", REPO + (os.pathsep + path if path else ""))
    namespace = {"__name__": "__docs__"}
    backend = keras.backend.backend()
    skipped = []
    for block in blocks:
        reason = block.skip_reason(backend, presets_dir)
        if reason is not None:
            skipped.append(reason)
            continue
        try:
            exec(compile(block.code, block.source, "exec"), namespace)
        except Exception as e:
            raise AssertionError(
                f"The code block at {block.source} failed: "
                f"{type(e).__name__}: {e}\n--- block ---\n{block.code}"
            ) from e
    return skipped


def finish(blocks, skipped):
    if skipped:
        ran = len(blocks) - len(skipped)
        pytest.skip(
            f"ran {ran} of {len(blocks)} blocks (passed); skipped "
            + "; ".join(skipped)
        )


def test_pages_were_found():
    names = [name for name, _ in PAGES]
    assert "README.md" in names
    assert any(name.startswith("docs/tutorials/") for name in names)
    assert any(name.startswith("docs/concepts/") for name in names)


# scripts/test.sh runs every page on its first backend; on the others it
# sets this, and only pages with a block written for a backend run again.
BACKEND_PAGES_ONLY = os.environ.get("KERAS_VAE_DOCS_BACKEND_PAGES_ONLY") == "1"


@pytest.mark.parametrize("name,path", PAGES, ids=[name for name, _ in PAGES])
def test_code_blocks(name, path, tmp_path, monkeypatch):
    with open(path) as f:
        blocks = python_blocks(f.read(), name)
    if BACKEND_PAGES_ONLY and not any(block.backends for block in blocks):
        pytest.skip(
            f"{name}: no block for a particular backend; its blocks ran on "
            "the first backend of scripts/test.sh"
        )
    finish(blocks, run_blocks(blocks, tmp_path, monkeypatch))


def test_generated_zoo_code_blocks(tmp_path, monkeypatch):
    hook = load_hook()
    presets = hook.read_presets(PRESETS_DIR)
    if not presets:
        pytest.skip("no preset is published yet: the zoo page has no code")
    blocks = python_blocks(hook.zoo_details(presets), "zoo page (generated)")
    assert len(blocks) == len(presets)
    finish(blocks, run_blocks(blocks, tmp_path, monkeypatch))


def _read(path):
    with open(path) as f:
        return f.read()


PRESET_PAGES = [
    (name, path)
    for name, path in PAGES
    if any(block.presets for block in python_blocks(_read(path), name))
]


@pytest.mark.parametrize(
    "name,path", PRESET_PAGES, ids=[name for name, _ in PRESET_PAGES]
)
def test_preset_code_blocks_on_tiny_presets(
    name, path, tmp_path, monkeypatch, use_stand_ins
):
    """The blocks that wait for the zoo run now, on tiny untrained presets
    under the zoo's names, so that they work the day the presets land.

    They run on their own, without the page's other blocks: a block that
    needs a preset must be self-contained.
    """
    presets_dir = use_stand_ins
    with open(path) as f:
        blocks = [b for b in python_blocks(f.read(), name) if b.presets]
    finish(blocks, run_blocks(blocks, tmp_path, monkeypatch, presets_dir))


def test_generated_zoo_code_blocks_on_tiny_presets(
    tmp_path, monkeypatch, use_stand_ins
):
    zoo_stand_ins = use_stand_ins
    hook = load_hook()
    presets = hook.read_presets(zoo_stand_ins)
    blocks = python_blocks(hook.zoo_details(presets), "zoo page (generated)")
    # One block per preset (the zoo's recipes, published or training).
    assert len(blocks) == len(presets) == len(zoo_preset_names())
    finish(blocks, run_blocks(blocks, tmp_path, monkeypatch, zoo_stand_ins))
