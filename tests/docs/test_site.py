"""The documentation site builds without a warning and renders in a browser.

`mkdocs build --strict` into a temporary directory; the site is served on
127.0.0.1 (a free port, Python's `http.server`) and pages are opened in
headless Chromium, driven over the DevTools protocol (`_browser.py`): each
must load with every image decoded (natural width > 0), no failed request
(no 404) and no JavaScript error. Screenshots go to
`$KERAS_VAE_ARTIFACTS/docs-screenshots/` (default `artifacts/`, ignored by
git).

Chromium comes from `bash scripts/install_system_deps.sh`. Without it these
tests skip, except under `CI`, where they fail.
"""

import functools
import http.server
import os
import subprocess
import sys
import threading

import pytest
from _blocks import REPO
from _browser import Browser
from _browser import chromium_path
from _fixtures import make_fake_preset

ARTIFACTS = os.environ.get("KERAS_VAE_ARTIFACTS") or os.path.join(
    REPO, "artifacts"
)
SCREENSHOTS = os.path.join(ARTIFACTS, "docs-screenshots")
PRESETS = os.path.join(REPO, "keras_vae", "presets")


def zoo_image_count(directory=PRESETS):
    """The images the zoo page shows for the presets in `directory`.

    As docs/hooks/generated.py renders them: for each preset (a directory
    with a metadata.json), its samples, reconstructions and latent plane,
    each that it has, in its section, and its samples again as a thumbnail
    in the table.
    """
    count = 0
    for name in sorted(os.listdir(directory)):
        preset = os.path.join(directory, name)
        if name.startswith((".", "_")) or not os.path.isfile(
            os.path.join(preset, "metadata.json")
        ):
            continue
        images = [
            image
            for image in (
                "samples.png",
                "reconstructions.png",
                "latent_plane.png",
            )
            if os.path.isfile(os.path.join(preset, image))
        ]
        count += len(images) + ("samples.png" in images)
    return count


# Page -> (URL path, minimum number of images it shows).
PAGES = {
    "home": ("", 1),
    "concepts": ("concepts/latent-distributions/", 2),
    "concepts-kl": ("concepts/kl-regularizer/", 1),
    "tutorial": ("tutorials/presets/", 2),
    "zoo": ("zoo/", zoo_image_count()),  # The committed presets' images.
    "benchmarks": ("benchmarks/", 0),
    "api": ("api/vae/", 0),
}


def build_site(directory, env=None):
    """Runs `mkdocs build --strict`; fails the test on any warning."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            os.path.join(REPO, "mkdocs.yml"),
            "--site-dir",
            directory,
        ],
        cwd=REPO,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1", **(env or {})},
        capture_output=True,
        text=True,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{output}"
    warnings = [line for line in output.splitlines() if "WARNING" in line]
    assert not warnings, "mkdocs warned:\n" + "\n".join(warnings)
    return directory


class Server:
    """Serves a directory on 127.0.0.1 and records every request's status."""

    def __init__(self, directory):
        self.requests = []
        requests = self.requests

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_request(self, code="-", size="-"):
                requests.append((self.path, int(getattr(code, "value", code))))

            def log_message(self, format, *args):
                pass

        handler = functools.partial(Handler, directory=directory)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, daemon=True
        )

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.httpd.shutdown()
        self.httpd.server_close()

    def errors(self):
        return [(path, code) for path, code in self.requests if code >= 400]


@pytest.fixture(scope="module")
def browser():
    if chromium_path() is None:
        message = (
            "Chromium is not installed (/usr/bin/chromium): run "
            "`bash scripts/install_system_deps.sh`."
        )
        if os.environ.get("CI"):
            pytest.fail(message + " It is required under CI.")
        pytest.skip(message)
    with Browser() as browser:
        yield browser


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return build_site(str(tmp_path_factory.mktemp("site")))


@pytest.fixture(scope="module")
def server(site):
    with Server(site) as server:
        yield server


def check_page(browser, server, name, path, min_images):
    os.makedirs(SCREENSHOTS, exist_ok=True)
    before = len(server.requests)
    report = browser.open(
        server.url + path, os.path.join(SCREENSHOTS, f"{name}.png")
    )
    assert "keras_vae" in report.title, report.title
    assert not report.broken_images, (
        f"{name}: images that did not load: {report.broken_images}"
    )
    assert len(report.images) >= min_images, (
        f"{name}: {len(report.images)} image(s), expected {min_images}+"
    )
    assert not report.failed_requests, (
        f"{name}: failed requests: {report.failed_requests}"
    )
    assert not report.exceptions, (
        f"{name}: JavaScript errors: {report.exceptions}"
    )
    errors = [r for r in server.requests[before:] if r[1] >= 400]
    assert not errors, f"{name}: the server answered {errors}"
    return report


def test_site_builds_strict(site):
    for page in ("index.html", "zoo/index.html", "api/vae/index.html"):
        assert os.path.isfile(os.path.join(site, page)), page


@pytest.mark.parametrize("name", list(PAGES))
def test_page_renders(name, browser, server):
    path, min_images = PAGES[name]
    check_page(browser, server, name, path, min_images)


def test_api_page_documents_the_model(site):
    with open(os.path.join(site, "api", "vae", "index.html")) as f:
        html = f.read()
    for member in (
        "encode",
        "decode",
        "sample",
        "log_likelihood",
        "from_preset",
    ):
        assert f'id="keras_vae.VAE.{member}"' in html, member


def test_zoo_page_with_presets(tmp_path, browser):
    presets = tmp_path / "presets"
    make_fake_preset(str(presets), "fake_mlp_2", latent_dim=2)
    make_fake_preset(str(presets), "fake_mlp_32", latent_dim=32)
    site = build_site(
        str(tmp_path / "site"), env={"KERAS_VAE_DOCS_PRESETS_DIR": str(presets)}
    )
    with Server(site) as server:
        report = check_page(browser, server, "zoo-with-presets", "zoo/", 7)
        bench = check_page(
            browser, server, "benchmarks-with-presets", "benchmarks/", 0
        )
    sources = {image["src"].split("/zoo/", 1)[-1] for image in report.images}
    for expected in (
        "fake_mlp_2/samples.png",
        "fake_mlp_2/latent_plane.png",
        "fake_mlp_32/reconstructions.png",
    ):
        assert expected in sources, sources
    with open(os.path.join(site, "benchmarks", "index.html")) as f:
        html = f.read()
    assert "88.50" in html and "86.76" in html and "82.90" in html
    assert bench.title
