"""A minimal headless-Chromium driver over the DevTools protocol (CDP).

Chromium is started with `--remote-debugging-pipe`: it reads protocol
commands from file descriptor 3 and writes responses and events to file
descriptor 4, each message a JSON object followed by a NUL byte. No
WebSocket client, no browser download: only the standard library and
Debian's `chromium` package (`scripts/install_system_deps.sh`).

    with Browser() as browser:
        report = browser.open("http://127.0.0.1:8000/", "home.png")
        report.broken_images  # images that did not load
"""

import base64
import dataclasses
import fcntl
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-pipe",
)

# Resolves once the navigated page (not the blank tab) has loaded.
_LOADED_JS = """
new Promise((resolve) => {
  const check = () =>
    location.href !== "about:blank" && document.readyState === "complete"
      ? resolve(true)
      : setTimeout(check, 50);
  check();
})
"""

# Every <img> of the page, once each has finished loading or failed.
_IMAGES_JS = """
(async () => {
  const images = Array.from(document.images);
  for (const image of images) { image.loading = "eager"; }
  await Promise.all(images.map(
    (image) => image.decode().then(() => null, () => null)));
  return images.map((image) => ({
    src: image.currentSrc || image.src,
    complete: image.complete,
    naturalWidth: image.naturalWidth,
    naturalHeight: image.naturalHeight,
  }));
})()
"""


def chromium_path():
    """The Chromium executable, or None if it is not installed."""
    if os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    return shutil.which("chromium")


def _move_above(fd, minimum):
    """Duplicates `fd` onto the lowest free descriptor >= `minimum`."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD, minimum)
    os.close(fd)
    return moved


class BrowserError(RuntimeError):
    """Chromium failed to start, crashed, or answered with an error."""


@dataclasses.dataclass
class PageReport:
    """What happened when a page was opened."""

    url: str
    title: str
    images: list
    failed_requests: list
    exceptions: list
    screenshot: str

    @property
    def broken_images(self):
        return [
            image
            for image in self.images
            if not image["complete"] or image["naturalWidth"] == 0
        ]


class Browser:
    """Headless Chromium driven over `--remote-debugging-pipe`.

    Args:
        width: int. Viewport width in CSS pixels, default 1280.
        height: int. Viewport height, default 900.
        timeout: float. Seconds to wait for any one answer, default 60.
    """

    def __init__(self, width=1280, height=900, timeout=60.0):
        self.width = width
        self.height = height
        self.timeout = timeout
        self._next_id = 0
        self._messages = queue.Queue()
        self._events = []
        self._process = None

    # ------------------------------------------------------------------
    # Process and pipe.

    def __enter__(self):
        executable = chromium_path()
        if executable is None:
            raise BrowserError(
                "Chromium is not installed: run "
                "`bash scripts/install_system_deps.sh`."
            )
        self._profile = tempfile.mkdtemp(prefix="keras_vae_chromium_")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        # Move Chromium's ends above 9, out of the way of 3 and 4.
        to_chrome_r = _move_above(to_chrome_r, 10)
        from_chrome_w = _move_above(from_chrome_w, 10)
        # bash puts the two pipe ends on the descriptors Chromium expects.
        script = (
            f'exec "$@" 3<&{to_chrome_r} 4>&{from_chrome_w} '
            f"{to_chrome_r}<&- {from_chrome_w}>&-"
        )
        self._log = open(os.path.join(self._profile, "chromium.log"), "wb")
        command = [
            executable,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={self._profile}",
            f"--window-size={self.width},{self.height}",
            "about:blank",
        ]
        self._process = subprocess.Popen(
            ["bash", "-c", script, "chromium", *command],
            pass_fds=(to_chrome_r, from_chrome_w),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.version = self.send("Browser.getVersion")["product"]
        return self

    def __exit__(self, *exc_info):
        try:
            if self._process.poll() is None:
                try:
                    self.send("Browser.close", timeout=10)
                except BrowserError:
                    pass
                try:
                    self._process.wait(10)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
        finally:
            os.close(self._to_chrome)
            self._log.close()
            shutil.rmtree(self._profile, ignore_errors=True)

    def _read(self):
        buffer = b""
        while True:
            try:
                chunk = os.read(self._from_chrome, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                self._messages.put(None)
                os.close(self._from_chrome)
                return
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            for message in messages:
                self._messages.put(json.loads(message))

    def chromium_log(self):
        """Chromium's own stderr so far (for error messages)."""
        self._log.flush()
        with open(self._log.name, "rb") as f:
            return f.read().decode("utf-8", "replace")[-4000:]

    # ------------------------------------------------------------------
    # Protocol.

    def send(self, method, params=None, session=None, timeout=None):
        """Sends a command and returns its result, keeping events aside."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method}
        message["params"] = params or {}
        if session is not None:
            message["sessionId"] = session
        try:
            os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        except OSError as e:
            raise BrowserError(
                f"Chromium is gone ({e}). Its log:\n{self.chromium_log()}"
            ) from e
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            answer = self._get(deadline, f"the answer to {method}")
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise BrowserError(f"{method} failed: {answer['error']}")
                return answer.get("result", {})
            self._events.append(answer)

    def _get(self, deadline, what):
        remaining = deadline - time.monotonic()
        try:
            message = self._messages.get(timeout=max(remaining, 0.01))
        except queue.Empty:
            raise BrowserError(f"Timed out waiting for {what}.") from None
        if message is None:
            raise BrowserError(
                f"Chromium closed the pipe while waiting for {what}. Its "
                f"log:\n{self.chromium_log()}"
            )
        return message

    def wait_for(self, method, session, timeout=None):
        """Waits for an event of a session; returns its params."""
        for index, event in enumerate(self._events):
            if event.get("method") == method and event.get("sessionId") == (
                session
            ):
                return self._events.pop(index).get("params", {})
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            message = self._get(deadline, f"the event {method}")
            if message.get("method") == method and message.get("sessionId") == (
                session
            ):
                return message.get("params", {})
            self._events.append(message)

    def _drain(self, seconds):
        """Collects the events that arrive within `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                message = self._messages.get(
                    timeout=max(deadline - time.monotonic(), 0.01)
                )
            except queue.Empty:
                return
            if message is None:
                return
            self._events.append(message)

    # ------------------------------------------------------------------
    # Pages.

    def open(self, url, screenshot=None, full_page=True, max_height=6000):
        """Opens `url` in a new tab, waits for it, checks it, screenshots it.

        Args:
            url: str. The page.
            screenshot: str or None. A PNG file to write.
            full_page: bool. Capture the whole page (up to `max_height`
                CSS pixels) rather than the viewport.
            max_height: int. Cap of a full-page screenshot.

        Returns:
            A `PageReport`.
        """
        target = self.send("Target.createTarget", {"url": "about:blank"})
        session = self.send(
            "Target.attachToTarget",
            {"targetId": target["targetId"], "flatten": True},
        )["sessionId"]
        try:
            for domain in ("Page", "Network", "Runtime"):
                self.send(f"{domain}.enable", session=session)
            self.send(
                "Emulation.setDeviceMetricsOverride",
                {
                    "width": self.width,
                    "height": self.height,
                    "deviceScaleFactor": 1,
                    "mobile": False,
                },
                session=session,
            )
            self._events.clear()
            navigation = self.send("Page.navigate", {"url": url}, session)
            if navigation.get("errorText"):
                raise BrowserError(
                    f"Could not open {url}: {navigation['errorText']}"
                )
            self.wait_for("Page.loadEventFired", session)
            # The load event may be the blank tab's, if it came late: wait
            # for the page itself to be complete.
            self.evaluate(_LOADED_JS, session)
            images = self.evaluate(_IMAGES_JS, session)
            self._drain(0.5)  # Late requests (fonts, search index...).
            title = self.evaluate("document.title", session)
            path = None
            if screenshot is not None:
                path = self._screenshot(
                    session, screenshot, full_page, max_height
                )
            failed, exceptions = self._problems(session)
            return PageReport(url, title, images, failed, exceptions, path)
        finally:
            self.send("Target.closeTarget", {"targetId": target["targetId"]})

    def evaluate(self, expression, session):
        result = self.send(
            "Runtime.evaluate",
            {
                "expression": expression,
                "awaitPromise": True,
                "returnByValue": True,
            },
            session=session,
        )
        if "exceptionDetails" in result:
            raise BrowserError(
                f"JavaScript failed: {result['exceptionDetails']}"
            )
        return result["result"].get("value")

    def _screenshot(self, session, path, full_page, max_height):
        if full_page:
            metrics = self.send("Page.getLayoutMetrics", session=session)
            height = int(metrics["cssContentSize"]["height"])
            height = max(self.height, min(height, max_height))
            self.send(
                "Emulation.setDeviceMetricsOverride",
                {
                    "width": self.width,
                    "height": height,
                    "deviceScaleFactor": 1,
                    "mobile": False,
                },
                session=session,
            )
            self._drain(0.3)
        data = self.send(
            "Page.captureScreenshot", {"format": "png"}, session=session
        )["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return path

    def _problems(self, session):
        """Failed requests (HTTP >= 400 or network errors) and JS errors."""
        urls = {}
        failed = []
        exceptions = []
        for event in self._events:
            if event.get("sessionId") != session:
                continue
            method = event.get("method")
            params = event.get("params", {})
            if method == "Network.requestWillBeSent":
                urls[params["requestId"]] = params["request"]["url"]
            elif method == "Network.responseReceived":
                response = params["response"]
                if response["status"] >= 400:
                    failed.append(f"{response['status']} {response['url']}")
            elif method == "Network.loadingFailed":
                if not params.get("canceled"):
                    url = urls.get(params["requestId"], params["requestId"])
                    failed.append(f"{params['errorText']} {url}")
            elif method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                exception = details.get("exception", {})
                exceptions.append(
                    exception.get("description") or details.get("text")
                )
        return failed, exceptions
