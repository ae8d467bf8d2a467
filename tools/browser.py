"""Drive headless Chromium over the DevTools protocol, through a pipe (no extra package).

``chromium --remote-debugging-pipe`` reads DevTools commands from file descriptor 3 and writes
replies and events to descriptor 4, each message JSON followed by a NUL byte. This module starts
Chromium that way and offers what the book's browser tests and ``tools/screenshots.py`` need:
open a page at a given window size, wait for MathJax, evaluate JavaScript, record every network
request, take a full-page screenshot.

    with Browser() as b:
        page = b.open(Path("_build/html/book/01_sgd.html"))
        report = page.check()          # the reader checks, see PAGE_CHECKS_JS
        page.screenshot(Path("01_sgd.png"))
"""
from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["find_chromium", "Browser", "Page", "BrowserError", "PAGE_CHECKS_JS", "WIDTH"]

#: The window width the pages are read at (CSS pixels): a common laptop screen.
WIDTH = 1400
_HEIGHT = 1000
_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


class BrowserError(RuntimeError):
    """Chromium could not be started, or a DevTools command failed or timed out."""


def find_chromium() -> str | None:
    """The Chromium (or Chrome) executable on ``PATH`` (``$CHROMIUM`` first), or None."""
    for name in ((os.environ.get("CHROMIUM"),) if os.environ.get("CHROMIUM") else ()) + _NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """A headless Chromium; use as a context manager (it is killed on exit)."""

    def __init__(self, executable: str | None = None, timeout: float = 60.0):
        exe = executable or find_chromium()
        if not exe:
            raise BrowserError("no Chromium found on PATH (Debian: apt-get install chromium)")
        self.timeout = timeout
        self._profile = tempfile.mkdtemp(prefix="twophase-chromium-")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        # above any descriptor the child's stdio or 3/4 could be, then moved to 3 and 4
        high_r = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
        high_w = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)

        def _child_fds():
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--hide-scrollbars",
                "--mute-audio", "--disable-background-networking", "--disable-sync",
                "--remote-debugging-pipe", f"--user-data-dir={self._profile}",
                f"--window-size={WIDTH},{_HEIGHT}", "about:blank"]
        try:
            self._proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                          # 3 and 4 are open here (os.pipe takes the
                                          # lowest free descriptors); the child's copies are
                                          # replaced by the pipe ends in _child_fds
                                          pass_fds=(3, 4), preexec_fn=_child_fds)
        finally:
            for fd in (to_child_r, from_child_w, high_r, high_w):
                os.close(fd)
        self._buf = b""
        self._next_id = 0
        self._events: list[dict] = []

    # -- protocol ----------------------------------------------------------------------------
    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float | None = None) -> dict:
        """Send one DevTools command and return its result (events seen meanwhile are kept)."""
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_child, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._events.append(reply)

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError("Chromium did not answer in time")
            ready, _, _ = select.select([self._from_child], [], [], left)
            if ready:
                chunk = os.read(self._from_child, 1 << 20)
                if not chunk:
                    raise BrowserError("Chromium closed the DevTools pipe (it crashed or exited)")
                self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def wait_event(self, method: str, session: str, timeout: float) -> dict:
        """Wait for the next event ``method`` of ``session`` and take it off the queue."""
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self._events):
                if ev.get("method") == method and ev.get("sessionId") == session:
                    del self._events[i]
                    return ev
            self._events.append(self._read(deadline))

    def take_events(self, session: str) -> list[dict]:
        """All events of ``session`` received so far (removed from the queue)."""
        mine = [e for e in self._events if e.get("sessionId") == session]
        self._events = [e for e in self._events if e.get("sessionId") != session]
        return mine

    # -- pages -------------------------------------------------------------------------------
    def open(self, path: Path, width: int = WIDTH, timeout: float = 60.0) -> "Page":
        """Open a local HTML file in a new tab at ``width`` and wait until it has loaded and
        MathJax (if the page loads it) has typeset."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"]
        page = Page(self, target, session, Path(path).resolve())
        for domain in ("Page", "Runtime", "Network"):
            self.send(f"{domain}.enable", session=session)
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": _HEIGHT, "deviceScaleFactor": 1, "mobile": False},
                  session=session)
        self.send("Page.navigate", {"url": page.url}, session=session)
        self.wait_event("Page.loadEventFired", session, timeout)
        page.evaluate(_WAIT_MATHJAX_JS, timeout=timeout)
        return page

    def close(self) -> None:
        if getattr(self, "_proc", None) and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(timeout=10)
        for fd in (getattr(self, "_to_child", None), getattr(self, "_from_child", None)):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._to_child = self._from_child = None
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Page:
    """One open tab."""

    def __init__(self, browser: Browser, target: str, session: str, path: Path):
        self.browser, self.target, self.session, self.path = browser, target, session, path
        self.url = path.as_uri()
        self._requests: list[dict] = []

    def evaluate(self, expression: str, timeout: float = 60.0):
        """Evaluate JavaScript (an async arrow function's source is called) and return its
        JSON value."""
        res = self.browser.send("Runtime.evaluate", {
            "expression": f"({expression})()", "awaitPromise": True, "returnByValue": True,
            "timeout": int(timeout * 1000)}, session=self.session, timeout=timeout + 5)
        if "exceptionDetails" in res:
            raise BrowserError(f"JavaScript error on {self.path}: {res['exceptionDetails']}")
        return res["result"].get("value")

    def requests(self) -> list[dict]:
        """Every request the page made so far: ``{"url", "type"}`` (type as DevTools names it:
        Document, Script, Stylesheet, Font, Image, XHR, ...)."""
        for ev in self.browser.take_events(self.session):
            if ev.get("method") == "Network.requestWillBeSent":
                p = ev["params"]
                self._requests.append({"url": p["request"]["url"], "type": p.get("type", "")})
        return list(self._requests)

    def check(self) -> dict:
        """Run the reader checks (:data:`PAGE_CHECKS_JS`) and add the page's network requests."""
        report = self.evaluate(PAGE_CHECKS_JS)
        report["requests"] = self.requests()
        return report

    def screenshot(self, out: Path, width: int = WIDTH) -> Path:
        """A full-page PNG: the window is made as tall as the page, then captured."""
        height = int(self.evaluate("async () => Math.ceil(Math.max("
                                   "document.documentElement.scrollHeight,"
                                   "document.body.scrollHeight))"))
        self.browser.send("Emulation.setDeviceMetricsOverride",
                          {"width": width, "height": height, "deviceScaleFactor": 1,
                           "mobile": False}, session=self.session)
        self.evaluate("async () => new Promise(r => requestAnimationFrame(() => "
                      "requestAnimationFrame(r)))")
        # No captureBeyondViewport: the window already holds the whole page, and with it
        # Chromium drew chapter 7's page shifted sideways (sidebar gone, text cut at the left)
        # although its layout was right (every box where it belongs, nothing scrolled).
        data = self.browser.send("Page.captureScreenshot", {
            "format": "png", "fromSurface": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}},
            session=self.session, timeout=120)["data"]
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(base64.b64decode(data))
        self.browser.send("Emulation.setDeviceMetricsOverride",
                          {"width": width, "height": _HEIGHT, "deviceScaleFactor": 1,
                           "mobile": False}, session=self.session)
        return out

    def close(self) -> None:
        self.browser.send("Target.closeTarget", {"targetId": self.target})


_WAIT_MATHJAX_JS = r"""async () => {
  // MathJax is loaded with `defer`; wait for it to start, then for its first typesetting.
  const t0 = Date.now();
  const loads = [...document.scripts].some(s => /mathjax/i.test(s.src));
  const pending = () => loads && !(window.MathJax && MathJax.startup && MathJax.startup.promise);
  while (pending() && Date.now() - t0 < 30000) await new Promise(r => setTimeout(r, 50));
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  await document.fonts.ready;
  return true;
}"""

#: The checks a reader would make, run in the page. Returns a JSON report (lists of offenders).
PAGE_CHECKS_JS = r"""async () => {
  const article = document.querySelector('main article') || document.querySelector('article')
      || document.body;
  const SKIP = 'pre, code, kbd, samp, script, style, textarea, button, mjx-container,'
      + ' .headerlink, .copybtn';
  const clip = s => s.replace(/\s+/g, ' ').trim().slice(0, 160);
  // text of an element as a reader sees it, without code and typeset math
  const textOf = el => {
    let out = '';
    for (const n of el.childNodes) {
      if (n.nodeType === Node.TEXT_NODE) out += n.textContent;
      else if (n.nodeType === Node.ELEMENT_NODE && !n.matches(SKIP)) out += textOf(n);
    }
    return out;
  };
  const BLOCKS = 'p, li, td, th, dt, dd, figcaption, caption, h1, h2, h3, h4, h5, h6, summary,'
      + ' .admonition-title, blockquote';
  const leafBlocks = [...article.querySelectorAll(BLOCKS)].filter(
      el => !el.closest(SKIP) && !el.querySelector(BLOCKS));
  // 1. math: every math element typeset, no MathJax error, no raw delimiters left in text
  const maths = [...article.querySelectorAll('.math')];
  const untypeset = maths.filter(m => !m.querySelector('mjx-container')).map(m => clip(m.textContent));
  const mathErrors = [...article.querySelectorAll('mjx-merror, [data-mjx-error]')].map(
      e => clip(e.getAttribute('data-mjx-error') || e.textContent));
  const rawMath = [];
  const tableText = [];
  for (const el of leafBlocks) {
    const t = textOf(el);
    if (/\\\(|\\\)|\\\[|\\\]|\$\$|\$[^$\s][^$]*\$/.test(t)) rawMath.push(clip(t));
    // 3. table markup shown as text: a separator row |---| or a line of three pipes
    if (/\|\s*:?-{3,}:?\s*\|/.test(t) || /(^|\n)\s*\|[^\n|]*\|[^\n|]*\|/.test(t)) tableText.push(clip(t));
  }
  // 4. figures: every image in a numbered <figure> with a caption; every figure numbered
  const images = [...article.querySelectorAll('img')];
  const unfigured = images.filter(img => {
    const fig = img.closest('figure');
    return !(fig && fig.querySelector('figcaption .caption-number'));
  }).map(img => img.getAttribute('src'));
  const figures = [...article.querySelectorAll('figure')];
  const figureInfo = figures.map(f => ({
    id: f.id,
    number: clip((f.querySelector('figcaption .caption-number') || {textContent: ''}).textContent),
    caption: clip((f.querySelector('figcaption .caption-text') || {textContent: ''}).textContent),
    imageWidth: Math.round((f.querySelector('img') || {getBoundingClientRect: () => ({width: 0})})
        .getBoundingClientRect().width),
    // the figure's files, and whether its in-page links (provenance -> parameters) resolve
    downloads: [...f.querySelectorAll('a.download')].map(a => a.getAttribute('href')),
    provenance: clip((f.querySelector('details summary') || {textContent: ''}).textContent),
    brokenLinks: [...f.querySelectorAll('a[href^="#"]')].map(a => a.getAttribute('href'))
        .filter(h => !document.getElementById(decodeURIComponent(h.slice(1)))),
  }));
  // 5. code blocks that scroll sideways at this window width
  const wideCode = [...article.querySelectorAll('pre')].filter(
      p => p.clientWidth > 0 && p.scrollWidth > p.clientWidth + 1).map(p => ({
        overflow: p.scrollWidth - p.clientWidth,
        line: clip(p.textContent.split('\n').reduce((a, b) => b.length > a.length ? b : a, '')),
      }));
  // display equations wider than the column (MathJax clips or scrolls them: the reader loses the end)
  const wideMath = [...article.querySelectorAll('mjx-container[display="true"]')].filter(c => {
    const m = c.querySelector('mjx-math');
    return m && m.getBoundingClientRect().width > c.getBoundingClientRect().width + 1;
  }).map(c => ({overflow: Math.round(c.querySelector('mjx-math').getBoundingClientRect().width
                                     - c.getBoundingClientRect().width),
                text: clip(c.textContent).slice(0, 80)}));
  // tables wider than their column
  const wideTables = [...article.querySelectorAll('table')].filter(t => {
    const box = t.parentElement;
    return t.getBoundingClientRect().width > article.getBoundingClientRect().width + 1
        || (box && box.scrollWidth > box.clientWidth + 1);
  }).map(t => clip(t.textContent).slice(0, 80));
  // 6. outputs that are a bare boolean
  // (the text of the output's <pre>: the copy button adds its own label to the box)
  const bareBool = [...article.querySelectorAll('.cell_output .output')].map(
      o => (o.querySelector('pre') || o).textContent.trim()).filter(t => /^(True|False)$/.test(t));
  return {
    title: document.title,
    columnWidth: Math.round(article.getBoundingClientRect().width),
    mathCount: maths.length, untypeset, mathErrors, rawMath, tableText,
    imageCount: images.length, unfigured, figures: figureInfo,
    preCount: article.querySelectorAll('pre').length, wideCode, wideMath, wideTables, bareBool,
  };
}"""
