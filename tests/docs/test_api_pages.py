"""The API pages render our Keras-style docstrings as lists.

`docs/hooks/griffe_keras.py` (a griffe extension) turns `Call arguments:`
into a list of arguments and leaves private mixins out of "Bases:";
`docs/hooks/templates/` renders a `Returns:` described in prose without a
leading dash. Checked on the built site, as a reader gets it.
"""

import glob
import os
import re

import pytest
from _blocks import REPO
from test_site import build_site


@pytest.fixture(scope="module")
def api_pages(tmp_path_factory):
    site = build_site(str(tmp_path_factory.mktemp("site")))
    pages = {}
    for path in glob.glob(os.path.join(site, "api", "*", "index.html")):
        with open(path) as f:
            pages[os.path.basename(os.path.dirname(path))] = f.read()
    return pages


def _docstrings_with(section):
    count = 0
    for path in glob.glob(
        os.path.join(REPO, "keras_vae", "**", "*.py"), recursive=True
    ):
        with open(path) as f:
            count += f.read().count(f"\n    {section}:\n")
    return count


def test_call_arguments_are_lists(api_pages):
    html = "".join(api_pages.values())
    # Not an admonition of one run-on paragraph...
    assert 'class="call-arguments"' not in html
    # ...but a list, one item per argument, like `Args:`.
    titles = html.count('<span class="doc-section-title">Call arguments:')
    assert titles == _docstrings_with("Call arguments") > 0
    layers = api_pages["layers"]
    start = layers.index('id="keras_vae.layers.ReparamSampling"')
    section = layers[layers.index("Call arguments:", start) :]
    section = section[: section.index("</ul>")]
    items = re.findall(r"<li class=\"doc-section-item field-body\">", section)
    assert len(items) == 2  # inputs, training
    assert "<code>inputs</code>" in section
    assert "<code>training</code>" in section


def test_returns_without_a_leading_dash(api_pages):
    for name, html in api_pages.items():
        for section in re.findall(
            r"Returns:</span></p>\s*<ul>(.*?)</ul>", html, re.DOTALL
        ):
            for item in re.findall(
                r'field-body">(.*?)<div class="doc-md-description">',
                section,
                re.DOTALL,
            ):
                if not re.search(r"<code>", item):  # No name, no type.
                    assert "–" not in item, (name, item)
    assert "A float32 scalar tensor." in api_pages["layers"]


def test_private_bases_are_hidden(api_pages):
    for name, html in api_pages.items():
        for bases in re.findall(r"Bases:(.*?)</p>", html, re.DOTALL):
            text = re.sub(r"<[^>]+>", "", bases)
            for private in ("SeedStateMixin", "KLWarmupMixin", "._"):
                assert private not in text, (name, text.strip())
    vae = api_pages["vae"]
    assert re.search(r"Bases:.*?Model", vae, re.DOTALL)
