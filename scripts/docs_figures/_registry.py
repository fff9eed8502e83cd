"""The registry of figures: one `@figure(...)` per function that draws one.

A figure is a function `draw(models, args, path)` that writes the PNG at
`path` and returns a dict: for each role of `presets`, the `info` of the
model it used (what `Models.load` returns), and any other entries, numbers
the page quotes, which go to the figure's `details` in `figures.json`. It
returns None when it could not draw the figure (a preset is missing).
"""

import dataclasses

FIGURES = {}
"""Every registered figure, by name, in the order of registration."""


@dataclasses.dataclass(frozen=True)
class Figure:
    """One figure of the documentation.

    Attributes:
        name: str. The figure's name: it is drawn to `<name>.png`.
        page: str. The docs page that shows it, relative to `docs/`.
        presets: dict. Role -> tuple of preset names, best first; the last
            is the one a `--quick` stand-in imitates.
        draw: callable. `draw(models, args, path) -> dict or None`.
        source: str or None. What drew it when no preset did: "diagram"
            (nothing trained) or "trained" (models trained by the figure
            itself, from random weights).
    """

    name: str
    page: str
    presets: dict
    draw: object
    source: object = None


def figure(name, page, source=None, **presets):
    """Registers the decorated function as the drawing of figure `name`.

    Args:
        name: str. The figure's name, unique.
        page: str. The docs page that shows it, relative to `docs/`.
        source: str or None. "diagram" or "trained" for a figure drawn
            from no preset; None (default) for one drawn from `presets`.
        **presets: role=tuple of preset names, best first.

    Returns:
        The decorator, which returns the function unchanged.
    """
    if name in FIGURES:
        raise ValueError(f"Figure {name!r} is registered twice.")
    if not presets and source not in ("diagram", "trained"):
        raise ValueError(
            f"Figure {name!r} names no preset: pass source='diagram' or "
            f"source='trained'. Received: source={source!r}"
        )

    def register(draw):
        FIGURES[name] = Figure(name, page, dict(presets), draw, source)
        return draw

    return register
