"""Command line of the book runner.

::

    python -m twophase.book build [--profile quick|paper] [--only CHAPTER ...] [--no-html]
                                  [-j N] [--timeout SECONDS] [--force] [--build-dir DIR]
    python -m twophase.book run CHAPTER [-f params.yaml] [-p NAME VALUE ...] [--profile P]
                                        [--out DIR] [--timeout SECONDS]
    python -m twophase.book list [CHAPTER]

Exit status: 0 success; 1 a chapter failed (an error in a cell, a claim that does not hold,
a time limit) or the HTML build failed; 2 a usage error: unknown chapter, profile or
parameter, a bad value, a bad profiles/parameters file, a build folder in use by another
runner, or a file-system error (the message names the path); 130 interrupted.
"""
from __future__ import annotations

import argparse
import math
import signal
import sys
from pathlib import Path

from .sources import BookError

EXIT_FAILED = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130

_EXAMPLES = """\
examples:
  python -m twophase.book build --profile paper          # the whole book, paper settings
  python -m twophase.book build --only 02_lookahead --no-html
  python -m twophase.book build -j 2                     # two chapters at a time
  python -m twophase.book list 02_lookahead              # its parameters, types, meanings
  python -m twophase.book run 02_lookahead -p S 20 --out _build/my_run
  python -m twophase.book run 05_local_method -f my_params.yaml --timeout 300
"""


def _choices_text() -> str:
    try:
        from .runner import Runner

        r = Runner(progress=False, out=lambda m: None)
        chapters = ", ".join(r.chapter_names())
        try:
            profiles = ", ".join(r.profiles.names)
        except BookError:
            profiles = "quick, paper"
        return f"chapters: {chapters}\nprofiles: {profiles}\n"
    except (BookError, OSError):
        return "chapters and profiles: run from the book's root folder (or pass --root) to list them\n"


def _timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--timeout expects seconds (a number >= 0, 0: no"
                                         f" limit), got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"--timeout must be a finite number of seconds >= 0"
                                         f" (0: no limit), got {text!r}")
    return value


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"-j expects an integer >= 1, got {text!r}")
    return value


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # usage errors exit 2, like every other usage error
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


def _parser(epilog: str = "") -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    p = _Parser(
        prog="python -m twophase.book", formatter_class=fmt, epilog=epilog,
        description="Execute the book's chapters with papermill (cached) and build the HTML.")
    p.add_argument("--root", help="book root (folder with _toc.yml); default: the current"
                   " directory or the repository of this package")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    b = sub.add_parser("build", help="execute (or reuse) every chapter and build the HTML",
                       formatter_class=fmt, epilog=epilog)
    b.add_argument("--profile", default="quick", help="parameter profile (default: quick)")
    b.add_argument("--only", nargs="+", metavar="CHAPTER",
                   help="execute only these chapters (others are reused from the cache or left out)")
    b.add_argument("--no-html", action="store_true", help="skip the Sphinx build")
    b.add_argument("--force", action="store_true", help="ignore the cache, execute everything")
    b.add_argument("-j", "--jobs", type=_jobs, default=None, metavar="N",
                   help="chapters executed at once, each with its share of the cores"
                   " (default: what helps on this machine, 2 on 2 cores)")
    b.add_argument("--timeout", type=_timeout, default=None, metavar="SECONDS",
                   help="time limit of one chapter (default: the profile's, from"
                   " book/profiles.yml `timeouts`; 0: no limit)")
    b.add_argument("--build-dir", help="output folder, must be named _build (default <root>/_build)")
    b.add_argument("--no-progress", action="store_true", help="no per-cell progress bar")
    r = sub.add_parser("run", help="re-execute one chapter with overridden parameters",
                       formatter_class=fmt, epilog=epilog)
    r.add_argument("chapter")
    r.add_argument("-f", "--parameters-file", metavar="params.yaml",
                   help="YAML (or JSON) mapping NAME: VALUE of parameters to override")
    r.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                   metavar=("NAME", "VALUE"),
                   help="override a parameter (repeatable; applied after -f)")
    r.add_argument("--profile", default="quick", help="base profile (default: quick)")
    r.add_argument("--out", help="output folder (default: <root>/_build/runs/CHAPTER); never"
                   " one of the build's own folders")
    r.add_argument("--timeout", type=_timeout, default=None, metavar="SECONDS",
                   help="time limit (default: the profile's; 0: no limit)")
    r.add_argument("--build-dir", help="build folder, must be named _build (default <root>/_build)")
    r.add_argument("--no-progress", action="store_true", help="no per-cell progress bar")
    ls = sub.add_parser("list", help="list chapters and profiles, or one chapter's parameters",
                        formatter_class=fmt, epilog=epilog)
    ls.add_argument("chapter", nargs="?", help="show this chapter's parameters as a table")
    return p


def _terminate(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    epilog = _EXAMPLES
    if any(a in ("-h", "--help") for a in argv):
        epilog = _EXAMPLES + "\n" + _choices_text()
    try:
        args = _parser(epilog).parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int) else EXIT_ERROR
    from .runner import Runner

    # SIGTERM (CI cancellation, `kill`) takes the same clean path as Ctrl-C: the running
    # chapter's process group is stopped and nothing half-written is left at a final path.
    try:
        previous = signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not in the main thread
        previous = None
    try:
        return _main(args, Runner)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _load_values(path: str) -> dict:
    import yaml

    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BookError(f"-f {path}: cannot read the parameters file: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise BookError(f"-f {path}: not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise BookError(f"-f {path}: expected a mapping NAME: VALUE, got {type(data).__name__}")
    return data


def _main(args, Runner) -> int:
    stage = "start"
    try:
        runner = Runner(root=args.root, build_dir=getattr(args, "build_dir", None),
                        progress=not getattr(args, "no_progress", False),
                        timeout=getattr(args, "timeout", None))
        if args.command == "build":
            stage = "build"
            result = runner.build(profile=args.profile, only=args.only, html=not args.no_html,
                                  force=args.force, jobs=args.jobs)
            if result.config_error:
                return EXIT_ERROR
            return 0 if result.ok else EXIT_FAILED
        if args.command == "run":
            values = _load_values(args.parameters_file) if args.parameters_file else None
            stage = "run"
            res = runner.run(args.chapter, overrides=[tuple(x) for x in args.parameter],
                             profile=args.profile, out_dir=args.out, values=values)
            return 0 if res.good else EXIT_FAILED
        if args.command == "list":
            if args.chapter:
                print(parameters_table(runner, args.chapter))
                return 0
            print("profiles: " + ", ".join(runner.profiles.names))
            for name in runner.chapter_names():
                entry = runner.entry(name)
                if entry.kind == "missing":
                    print(f"{name}: (missing {entry.source})")
                    continue
                from .sources import read_parameters
                cell = read_parameters(entry.source)
                print(f"{name}: {len(cell)} parameter(s): {', '.join(cell) or '-'}")
            print("details: python -m twophase.book list CHAPTER")
            return 0
    except BookError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:
        where = exc.filename or ""
        if getattr(exc, "filename2", None):
            where = f"{where} -> {exc.filename2}"
        reason = exc.strerror or type(exc).__name__
        print(f"error: {reason}: {where or exc}" + (f" (during {stage})" if stage != "start"
                                                    else ""), file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted: the running chapter and its kernel were stopped; no partial"
              " notebook or figure was left at a final path, and _build/html is the previous"
              " complete site (or absent if none was built yet)", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_ERROR


def parameters_table(runner, chapter: str) -> str:
    """``list CHAPTER``: name, type, quick and paper values, meaning (the cell's comments)."""
    from .sources import parameter_comments, read_parameters, type_name

    entry = runner.entry(chapter)
    if entry.kind == "missing":
        raise BookError(f"chapter {chapter!r} is in _toc.yml but {entry.source} does not exist")
    cell = read_parameters(entry.source)
    comments = parameter_comments(entry.source)
    profs = list(runner.profiles.names)
    raws = {p: runner.profiles.raw(chapter, p) for p in profs}

    def short(v, width=28):
        t = repr(v) if not isinstance(v, str) else v
        return t if len(t) <= width else t[:width - 3] + "..."

    head = ["name", "type"] + profs + ["meaning"]
    rows = [[n, type_name(d)] + [short(raws[p].get(n, "-")) for p in profs]
            + [comments.get(n, "")] for n, d in cell.items()]
    if not rows:
        return f"{chapter}: no parameters cell"
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head) - 1)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths) + "  {}"
    lines = [f"{chapter} ({entry.source.name}): {len(rows)} parameter(s)",
             fmt.format(*head), fmt.format(*("-" * w for w in widths), "-------")]
    lines += [fmt.format(*r).rstrip() for r in rows]
    lines.append(f"re-run with: python -m twophase.book run {chapter} -p NAME VALUE"
                 " (or -f params.yaml)")
    return "\n".join(lines)
