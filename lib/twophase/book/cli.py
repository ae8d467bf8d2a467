"""Command line of the book runner.

::

    python -m twophase.book build [--profile quick|paper] [--only CHAPTER ...] [--no-html]
    python -m twophase.book run CHAPTER [-p NAME VALUE ...] [--profile P] [--out DIR]
    python -m twophase.book list
"""
from __future__ import annotations

import argparse
import signal
import sys

from .sources import BookError

EXIT_ERROR = 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m twophase.book",
        description="Execute the book's chapters with papermill (cached) and build the HTML.")
    p.add_argument("--root", help="book root (folder with _toc.yml); default: the current"
                   " directory or the repository of this package")
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="execute (or reuse) every chapter and build the HTML")
    b.add_argument("--profile", default="quick", help="parameter profile (default: quick)")
    b.add_argument("--only", nargs="+", metavar="CHAPTER",
                   help="execute only these chapters (others are reused from the cache or left out)")
    b.add_argument("--no-html", action="store_true", help="skip the Sphinx build")
    b.add_argument("--force", action="store_true", help="ignore the cache, execute everything")
    b.add_argument("--build-dir", help="output folder, must be named _build (default <root>/_build)")
    b.add_argument("--no-progress", action="store_true", help="no per-cell progress bar")
    r = sub.add_parser("run", help="re-execute one chapter with overridden parameters")
    r.add_argument("chapter")
    r.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                   metavar=("NAME", "VALUE"), help="override a parameter (repeatable)")
    r.add_argument("--profile", default="quick", help="base profile (default: quick)")
    r.add_argument("--out", help="output folder (default: <root>/_build/runs/CHAPTER)")
    r.add_argument("--build-dir", help="build folder, must be named _build (default <root>/_build)")
    r.add_argument("--no-progress", action="store_true", help="no per-cell progress bar")
    sub.add_parser("list", help="list chapters, profiles and parameters")
    return p


def _terminate(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    from .runner import Runner

    # SIGTERM (CI cancellation, `kill`) takes the same clean path as Ctrl-C: the running
    # chapter's process is stopped and nothing half-written is left at a final path.
    try:
        previous = signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not in the main thread
        previous = None
    try:
        return _main(args, Runner)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _main(args, Runner) -> int:

    try:
        runner = Runner(root=args.root, build_dir=getattr(args, "build_dir", None),
                        progress=not getattr(args, "no_progress", False))
        if args.command == "build":
            result = runner.build(profile=args.profile, only=args.only, html=not args.no_html,
                                  force=args.force)
            return 0 if result.ok else 1
        if args.command == "run":
            res = runner.run(args.chapter, overrides=[tuple(x) for x in args.parameter],
                             profile=args.profile, out_dir=args.out)
            return 0 if res.good else 1
        if args.command == "list":
            for name in runner.chapter_names():
                entry = runner.entry(name)
                if entry.kind == "missing":
                    print(f"{name}: (missing {entry.source})")
                    continue
                from .sources import read_parameters
                cell = read_parameters(entry.source)
                print(f"{name}: parameters {cell}")
                for prof in runner.profiles.names:
                    print(f"    {prof}: {runner.profiles.raw(name, prof)}")
            return 0
    except BookError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted: no partial notebook or figure was left at a final path",
              file=sys.stderr)
        return 130
    return EXIT_ERROR
