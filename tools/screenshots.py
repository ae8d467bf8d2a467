"""Full-page screenshots of every page of the built book, as a reader sees them.

    .venv/bin/python tools/screenshots.py [HTML_DIR] [OUT_DIR] [--width PX] [--only NAME ...]

defaults: ``_build/html`` and ``_build/look``. Each page listed in ``_toc.yml`` is opened from
disk in headless Chromium (Debian's ``chromium``; ``tools/install_chromium.sh`` installs it) at
a 1,400 px wide window, MathJax is waited for, and the whole page is saved as
``OUT_DIR/<page>.png`` (e.g. ``book/01_sgd.png``). Prints one line per page: its height and
the reader checks that failed (see tests/test_browser.py).
"""
from __future__ import annotations

import argparse
import struct
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import browser  # noqa: E402

REPO = HERE.parent
_CHECKS = ("untypeset", "mathErrors", "rawMath", "tableText", "unfigured", "wideCode",
           "wideTables", "bareBool")


def toc_pages(toc_file: Path) -> list[str]:
    """The docnames of ``_toc.yml`` in reading order (``book/intro``, ``book/01_sgd``, ...)."""
    def walk(node):
        if isinstance(node, dict):
            for key in ("root", "file"):
                if key in node:
                    yield str(node[key]).removesuffix(".md").removesuffix(".ipynb")
            for value in node.values():
                if isinstance(value, (dict, list)):
                    yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    return list(walk(yaml.safe_load(toc_file.read_text(encoding="utf-8"))))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("html", nargs="?", default=str(REPO / "_build/html"), type=Path)
    ap.add_argument("out", nargs="?", default=str(REPO / "_build/look"), type=Path)
    ap.add_argument("--width", type=int, default=browser.WIDTH)
    ap.add_argument("--only", nargs="*", default=None,
                    help="page names to take (e.g. 01_sgd report); default: every page")
    args = ap.parse_args(argv)
    if not (args.html / "index.html").is_file():
        ap.error(f"no built book in {args.html} (run: python -m twophase.book build)")
    if not browser.find_chromium():
        ap.error("no Chromium on PATH: run `bash tools/install_chromium.sh` "
                 "(or apt-get install chromium)")
    pages = toc_pages(REPO / "_toc.yml")
    if args.only:
        pages = [p for p in pages if p in args.only or p.rsplit("/", 1)[-1] in args.only]
    missing = 0
    with browser.Browser() as b:
        for doc in pages:
            src = args.html / f"{doc}.html"
            if not src.is_file():
                print(f"{doc}: not built")
                missing += 1
                continue
            page = b.open(src, width=args.width)
            report = page.check()
            shot = page.screenshot(args.out / f"{doc}.png", width=args.width)
            page.close()
            failed = [f"{k} {len(report[k])}" for k in _CHECKS if report[k]]
            height = struct.unpack(">I", shot.read_bytes()[20:24])[0]  # PNG header
            print(f"{doc}: {shot} ({height} px){'; ' + ', '.join(failed) if failed else ''}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
