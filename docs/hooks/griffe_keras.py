"""Griffe extension: our Keras-style docstrings, rendered as the API pages need.

Declared in `mkdocs.yml` (the mkdocstrings `extensions:` option), it runs as
griffe loads `keras_vae`, before the pages are rendered:

- A `Call arguments:` section (the Keras docstring section, unknown to the
  Google parser, which would make it an admonition of one run-on
  paragraph) becomes a list of arguments, rendered like `Args:`.
- Bases from private modules (`keras_vae._seed_state.SeedStateMixin`,
  `keras_vae._warmup.KLWarmupMixin`) or with private names are left out of
  a class's "Bases:": they are implementation details, with no page.

The `Returns:` sections without a name or a type are rendered without a
leading dash by the template `templates/python/material/returns.html.jinja`
beside this file.
"""

import re

import griffe

CALL_ARGUMENTS = "call arguments"
_ITEM = re.compile(r"^(\*{0,2}[A-Za-z_][\w]*):\s*(.*)$")


def _parameters(text):
    """`name: description` items (continuation lines indented) of a text."""
    items = []
    for line in text.splitlines():
        match = _ITEM.match(line)
        if match and not line.startswith((" ", "\t")):
            items.append([match.group(1), match.group(2)])
        elif items and line.strip():
            items[-1][1] += "\n" + line.strip()
        elif line.strip():
            return None  # Not a list of arguments: leave it as it is.
    return [
        griffe.DocstringParameter(name, description=description.strip())
        for name, description in items
    ]


def _is_private(path):
    return any(part.startswith("_") for part in path.split("."))


class KerasDocstrings(griffe.Extension):
    """Call arguments as a list; no private bases."""

    def on_object(self, *, obj, **kwargs):
        if obj.is_alias:
            return
        if obj.is_class:
            obj.bases = [
                base
                for base in obj.bases
                if not _is_private(getattr(base, "canonical_path", str(base)))
            ]
        # Only the docstrings with the section are parsed here: parsing
        # the others (private ones included) would only bring warnings.
        if (
            obj.docstring is None
            or "Call arguments:" not in obj.docstring.value
        ):
            return
        sections = obj.docstring.parsed
        for i, section in enumerate(sections):
            if (
                section.kind is griffe.DocstringSectionKind.admonition
                and (section.title or "").strip(" :").lower() == CALL_ARGUMENTS
            ):
                parameters = _parameters(section.value.contents)
                if parameters:
                    sections[i] = griffe.DocstringSectionParameters(
                        parameters, title="Call arguments:"
                    )
