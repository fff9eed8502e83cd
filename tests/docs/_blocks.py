"""Finding the Python code blocks of the docs, the README and docstrings.

Conventions a page can use, as an HTML comment on the line(s) right above
a ```` ```python ```` block (invisible on the site):

- `<!-- requires-preset: NAME -->`: the block runs only when the preset
  `NAME` is published in `keras_vae/presets/`; otherwise the test of its
  page still runs the other blocks and reports the skip. A block that
  calls `VAE.from_preset("NAME")` with a literal preset name needs it too,
  marked or not (a name of `keras_vae/training/configs.py`; a path is not
  a preset name).
- `<!-- requires-backend: jax -->` (or `tensorflow`, `torch`): the block
  runs only under that `KERAS_BACKEND`.

Blocks after a skipped one must not depend on it, and a block that needs a
preset must be self-contained (its imports included): until the presets
are published, the tests run those blocks alone on tiny stand-in presets.
Blocks in other languages (bash, json...) are not run.
"""

import dataclasses
import os
import re
import textwrap

REPO = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
)
DOCS = os.path.join(REPO, "docs")
PRESETS_DIR = os.path.join(REPO, "keras_vae", "presets")

_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>```+|~~~+)[ \t]*(?P<info>[^\n]*)\n"
    r"(?P<body>.*?)^(?P=indent)(?P=fence)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
_MARKER = re.compile(
    r"<!--\s*(requires-preset|requires-backend)\s*:\s*([\w.-]+)\s*-->"
)
_FROM_PRESET = re.compile(r"""from_preset\(\s*["']([A-Za-z0-9_]+)["']\s*\)""")
_ZOO_NAME = re.compile(r"""^\s*name=["']([A-Za-z0-9_]+)["']""", re.MULTILINE)


def zoo_preset_names():
    """The names of the zoo's presets, from keras_vae/training/configs.py."""
    path = os.path.join(REPO, "keras_vae", "training", "configs.py")
    if not os.path.exists(path):
        return set()
    with open(path) as f:
        return set(_ZOO_NAME.findall(f.read()))


@dataclasses.dataclass
class Block:
    """One Python code block."""

    source: str  # Where it comes from, for messages: "docs/x.md:12".
    code: str
    presets: tuple = ()
    backends: tuple = ()

    def skip_reason(self, backend, presets_dir=PRESETS_DIR):
        """Why the block cannot run here, or None."""
        if self.backends and backend not in self.backends:
            return (
                f"{self.source}: runs under KERAS_BACKEND="
                f"{'/'.join(self.backends)} only (this is {backend})"
            )
        missing = [
            name
            for name in self.presets
            if not os.path.isfile(
                os.path.join(presets_dir, name, "metadata.json")
            )
        ]
        if missing:
            return (
                f"{self.source}: needs the preset(s) {', '.join(missing)}, "
                "not published yet"
            )
        return None


def python_blocks(text, source):
    """The ```python blocks of a markdown text, with their markers."""
    blocks = []
    previous_end = 0
    for match in _FENCE.finditer(text):
        info = match.group("info").strip().split()
        language = info[0].lower() if info else ""
        before = text[previous_end : match.start()]
        previous_end = match.end()
        if language not in ("python", "py", "python3", "pycon"):
            continue
        # Markers: the comment lines right above the fence.
        markers = []
        for line in reversed(before.rstrip().splitlines()):
            found = _MARKER.findall(line)
            if not found:
                break
            markers += found
        code = textwrap.dedent(match.group("body"))
        presets = [v for k, v in markers if k == "requires-preset"]
        presets += [
            name
            for name in _FROM_PRESET.findall(code)
            if name in zoo_preset_names() and name not in presets
        ]
        line = text.count("\n", 0, match.start()) + 1
        blocks.append(
            Block(
                source=f"{source}:{line}",
                code=code,
                presets=tuple(presets),
                backends=tuple(
                    v for k, v in markers if k == "requires-backend"
                ),
            )
        )
    return blocks


def markdown_pages():
    """(name, path) of every markdown page of the docs, and the README."""
    pages = []
    for root, _, files in os.walk(DOCS):
        for filename in files:
            if filename.endswith(".md"):
                path = os.path.join(root, filename)
                pages.append((os.path.relpath(path, REPO), path))
    pages.sort()
    pages.append(("README.md", os.path.join(REPO, "README.md")))
    return pages
