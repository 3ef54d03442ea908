"""A minimal headless-Chromium driver for checking reports, over chromedriver's WebDriver HTTP API
(stdlib only): load a page, read the browser's console log, time the load, take screenshots.

Used by the browser test and the size benchmark; needs Debian's ``chromium`` and
``chromium-driver`` (``scripts/install_browser.sh``).
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

CHROMIUM_ARGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-default-apps",
    "--disable-sync", "--disable-extensions", "--no-first-run", "--no-default-browser-check",
    "--metrics-recording-only", "--hide-scrollbars", "--window-size=1366,900",
)

# installed before any page script runs: collects uncaught errors and console.error calls
_COLLECT = """
window.__errors = [];
window.addEventListener('error', function (e) { window.__errors.push('error: ' + e.message); });
window.addEventListener('unhandledrejection', function (e) {
  window.__errors.push('unhandled rejection: ' + e.reason); });
(function () { var orig = console.error; console.error = function () {
  window.__errors.push('console.error: ' + Array.prototype.join.call(arguments, ' '));
  return orig.apply(console, arguments); }; })();
"""


def find_chromium() -> tuple[str, str] | None:
    """(chromium, chromedriver) paths, or None when either is missing."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


@dataclass
class PageLoad:
    """What loading a page showed: console messages (level, text) and timings in ms."""

    console: list[tuple[str, str]]
    errors: list[str]
    load_ms: float
    dom_ready_ms: float
    wall_ms: float


class Chromium:
    """``with Chromium() as c: c.load(path)``: one headless browser session via chromedriver."""

    def __init__(self, width: int = 1366, height: int = 900) -> None:
        found = find_chromium()
        if found is None:
            raise RuntimeError("chromium or chromedriver not found (scripts/install_browser.sh)")
        self.browser, self.driver = found
        self.size = (width, height)
        self._proc: subprocess.Popen[bytes] | None = None
        self._session = ""
        self._base = ""
        self._profile = tempfile.TemporaryDirectory(prefix="sycolab-chromium-")

    def __enter__(self) -> Self:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self._proc = subprocess.Popen(
            [self.driver, f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self._base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                if self._call("GET", "/status").get("ready"):
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("chromedriver did not start")
            time.sleep(0.1)
        args = [*CHROMIUM_ARGS, f"--user-data-dir={self._profile.name}"]
        caps = {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": self.browser, "args": args},
            "goog:loggingPrefs": {"browser": "ALL"},
        }
        value = self._call("POST", "/session", {"capabilities": {"alwaysMatch": caps}})
        self._session = value["sessionId"]
        self._cdp("Emulation.setDeviceMetricsOverride", {
            "width": self.size[0], "height": self.size[1], "deviceScaleFactor": 1,
            "mobile": False})
        self._cdp("Page.addScriptToEvaluateOnNewDocument", {"source": _COLLECT})
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._session:
                self._call("DELETE", f"/session/{self._session}")
        except (urllib.error.URLError, OSError, RuntimeError):
            pass
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        self._profile.cleanup()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self._base + path, data=data, method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                payload = json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:500]
            raise RuntimeError(f"chromedriver {method} {path}: {exc.code} {detail}") from None
        return payload.get("value")

    def _cdp(self, cmd: str, params: dict[str, Any]) -> Any:
        return self._call(
            "POST", f"/session/{self._session}/goog/cdp/execute", {"cmd": cmd, "params": params}
        )

    def script(self, source: str) -> Any:
        """Run `source` (a function body; ``return`` gives the value) in the page."""
        return self._call(
            "POST", f"/session/{self._session}/execute/sync", {"script": source, "args": []}
        )

    def console(self) -> list[tuple[str, str]]:
        """Browser console messages since the last call: (level, message)."""
        entries = self._call("POST", f"/session/{self._session}/se/log", {"type": "browser"})
        return [(str(e.get("level")), str(e.get("message"))) for e in entries or []]

    def load(self, path: Path) -> PageLoad:
        """Open a local file and wait for its load event."""
        self.console()  # drop messages of earlier pages
        url = Path(path).resolve().as_uri()
        start = time.perf_counter()
        self._call("POST", f"/session/{self._session}/url", {"url": url})
        wall = (time.perf_counter() - start) * 1000
        timing = self.script(
            "const n = performance.getEntriesByType('navigation')[0];"
            "return [n.loadEventEnd, n.domContentLoadedEventEnd, window.__errors || []];"
        )
        console = self.console()
        errors = [str(e) for e in timing[2]] + [m for lvl, m in console if lvl == "SEVERE"]
        return PageLoad(console, errors, float(timing[0]), float(timing[1]), wall)

    def screenshot(self, out: Path, *, full_page: bool = True) -> Path:
        """Save a PNG of the page (the whole scrollable page when `full_page`)."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            w, h = self.script(
                "return [document.documentElement.scrollWidth,"
                " document.documentElement.scrollHeight];"
            )
            params |= {"captureBeyondViewport": True,
                       "clip": {"x": 0, "y": 0, "width": max(int(w), self.size[0]),
                                "height": min(int(h), 16000), "scale": 1}}
        shot = self._cdp("Page.captureScreenshot", params)
        out.write_bytes(base64.b64decode(shot["data"]))
        return out
