"""Execute chapters with papermill, cache them, and drive the HTML build.

The flow of ``build``: read ``_toc.yml``; for each chapter resolve its profile parameters
(checked against the chapter's ``parameters`` cell), compute its cache key
(:mod:`twophase.book.cache`), reuse or execute it (jupytext -> nbformat -> papermill), then
stage the executed notebooks as a Sphinx source tree and run Jupyter Book on it with execution
off and warnings as errors (:mod:`twophase.book.staging`).

Writes are atomic: a chapter executes into a private temporary folder (its ``TWOPHASE_OUT``)
and only a finished run is moved into place, so an interrupted or failed run never leaves a
half-written notebook or figure at a final path.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .cache import cache_key, read_cache
from .profiles import Profiles
from .sources import BookError, Entry, parse_value, read_notebook, read_parameters, read_toc

__all__ = ["Runner", "ChapterResult", "BuildResult"]

OK, FAILED, MISSING, ERROR, SKIPPED = "ok", "failed", "missing", "error", "skipped"


@dataclass
class ChapterResult:
    """What happened to one chapter in a build or run."""

    chapter: str
    action: str                # executed | reused | skipped | not run
    status: str                # ok | failed | missing | error | skipped
    seconds: float = 0.0       # wall time in this build
    exec_seconds: float | None = None  # wall time of the execution that produced the outputs
    profile: str = ""
    parameters: dict = field(default_factory=dict)
    key: str = ""
    claims: list = field(default_factory=list)
    error: str = ""
    notebook: str = ""         # executed notebook (or failed notebook) path
    figures: list = field(default_factory=list)
    executed_utc: str = ""
    git_commit: str = ""

    @property
    def claims_passed(self) -> int:
        return sum(1 for c in self.claims if c.get("holds"))

    @property
    def claims_failed(self) -> int:
        return sum(1 for c in self.claims if not c.get("holds"))

    @property
    def good(self) -> bool:
        return self.status in (OK, SKIPPED) and self.claims_failed == 0


@dataclass
class BuildResult:
    profile: str
    chapters: list
    sphinx_status: str = "not run"   # ok | failed | not run
    seconds: float = 0.0
    html: str = ""

    @property
    def ok(self) -> bool:
        return all(c.good for c in self.chapters) and self.sphinx_status in ("ok", "not run")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _git_commit(root: Path) -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root,
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _rmtree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _atomic_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, path)


def _swap_dir(new: Path, final: Path) -> None:
    """Replace directory ``final`` by ``new`` (two renames; ``final`` is never half-written)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    if final.exists():
        os.replace(final, old)
    os.replace(new, final)
    _rmtree(old)


def _merge_dir(new: Path, final: Path) -> None:
    """Move every file of ``new`` into ``final`` one ``os.replace`` at a time."""
    for src in sorted(new.rglob("*")):
        if src.is_file():
            dst = final / src.relative_to(new)
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)
    _rmtree(new)


class Runner:
    """The book runner.

    Parameters
    ----------
    root : path, optional
        The book's root folder (holding ``_toc.yml``, ``_config.yml``, ``book/``); default:
        the repository this package lives in, or the current directory.
    lib_dir : path, optional
        Folder whose files enter the cache key; default ``<root>/lib``.
    build_dir : path, optional
        Where everything generated goes; default ``<root>/_build``. Must be named ``_build``
        (Jupyter Book appends ``_build/html`` to its output path).
    requirements : path, optional
        Pinned requirements entering the cache key; default ``<root>/requirements.txt``.
    profiles : path, optional
        Default ``<root>/book/profiles.yml``.
    progress : bool
        Show papermill's per-cell progress bar.
    out : callable
        Where progress lines go (default: print to stdout, flushed).
    """

    def __init__(self, root=None, lib_dir=None, build_dir=None, requirements=None,
                 profiles=None, progress: bool = True, out=None, timeout: float | None = None):
        self.root = Path(root).resolve() if root is not None else _default_root()
        self.lib_dir = Path(lib_dir).resolve() if lib_dir is not None else self.root / "lib"
        self.build_dir = (Path(build_dir).resolve() if build_dir is not None
                          else self.root / "_build")
        if self.build_dir.name != "_build":
            raise BookError(f"build_dir must be a folder named _build, got {self.build_dir}")
        self.requirements = (Path(requirements) if requirements is not None
                             else self.root / "requirements.txt")
        self.profiles_path = (Path(profiles) if profiles is not None
                              else self.root / "book" / "profiles.yml")
        self.progress = progress
        self.timeout = timeout
        self._out = out or (lambda msg: print(msg, flush=True))
        self.entries: list[Entry] = read_toc(self.root)
        self.chapters = [e for e in self.entries if e.kind in ("chapter", "missing")]
        self._profiles: Profiles | None = None

    # -- lookups -----------------------------------------------------------------------------
    @property
    def profiles(self) -> Profiles:
        if self._profiles is None:
            self._profiles = Profiles(self.profiles_path, [e.name for e in self.chapters])
        return self._profiles

    def chapter_names(self) -> list[str]:
        return [e.name for e in self.chapters]

    def entry(self, chapter: str) -> Entry:
        for e in self.chapters:
            if e.name == chapter:
                return e
        raise BookError(f"unknown chapter {chapter!r}; valid chapters: "
                        f"{', '.join(self.chapter_names()) or '(none in _toc.yml)'}")

    def chapter_dir(self, chapter: str) -> Path:
        return self.build_dir / "chapters" / chapter

    def resolve_parameters(self, chapter: str, profile: str, overrides=()) -> dict:
        """Profile parameters of ``chapter`` with ``overrides`` [(NAME, VALUE-string), ...]."""
        entry = self.entry(chapter)
        self.profiles.check_profile(profile)
        if entry.kind == "missing":
            raise BookError(f"chapter {chapter!r} is in _toc.yml but {entry.source} does not exist")
        cell = read_parameters(entry.source)
        params = self.profiles.resolve(chapter, profile, cell)
        for name, text in overrides:
            if name not in cell:
                raise BookError(f"unknown parameter {name!r} for chapter {chapter!r}; valid"
                                f" parameters: {', '.join(cell) or '(none: no parameters cell)'}")
            params[name] = parse_value(name, text, cell[name])
        return params

    def key(self, chapter: str, profile: str, params: dict) -> str:
        return cache_key(chapter, self.entry(chapter).source, profile, params, self.lib_dir,
                         self.requirements)

    # -- execution ---------------------------------------------------------------------------
    def execute(self, chapter: str, profile: str, params: dict, final_dir: Path, *,
                exclusive: bool, key: str = "") -> ChapterResult:
        """Execute ``chapter`` into ``final_dir`` atomically and return its result.

        ``exclusive``: the runner owns ``final_dir`` and replaces it as a whole (build mode);
        otherwise files are moved in one by one (``run --out DIR``).
        """
        import nbformat

        entry = self.entry(chapter)
        final_dir = Path(final_dir).resolve()
        final_dir.parent.mkdir(parents=True, exist_ok=True)
        run_dir = final_dir.parent / f".{final_dir.name}.run-{os.getpid()}"
        tmp_dir = self.build_dir / ".tmp"
        _remove_stale_runs(final_dir)
        _rmtree(run_dir)
        run_dir.mkdir(parents=True)
        tmp_dir.mkdir(parents=True, exist_ok=True)
        inp = tmp_dir / f"{chapter}.input-{os.getpid()}.ipynb"
        outp = run_dir / f"{chapter}.ipynb"
        res = ChapterResult(chapter=chapter, action="executed", status=OK, profile=profile,
                            parameters=dict(params), key=key, executed_utc=_now(),
                            git_commit=_git_commit(self.root))
        t0 = time.perf_counter()
        try:
            nb = read_notebook(entry.source)
            nbformat.write(nb, str(inp))
            env = dict(TWOPHASE_CHAPTER=chapter, TWOPHASE_PROFILE=profile,
                       TWOPHASE_PARAMS=json.dumps(params, sort_keys=True),
                       TWOPHASE_OUT=str(run_dir))
            error = self._papermill(inp, outp, params, entry.source.parent, env)
            if error is not None:
                res.status = FAILED
                res.error = error
            res.exec_seconds = res.seconds = time.perf_counter() - t0
            claims_path = run_dir / "claims.json"
            if claims_path.is_file():
                try:
                    res.claims = json.loads(claims_path.read_text(encoding="utf-8"))
                except ValueError:
                    res.claims = []
            if res.status == OK and res.claims_failed:
                res.status = FAILED
                res.error = res.error or f"{res.claims_failed} claim(s) failed"
            if res.status == OK:
                res.figures = sorted(p.relative_to(run_dir).as_posix()
                                     for p in (run_dir / "figures").glob("*") if p.is_file()
                                     and not p.name.startswith("."))
                res.notebook = str(final_dir / f"{chapter}.ipynb")
            else:
                # A failed run keeps its executed notebook (for the traceback) under a name that
                # says so, never at the final path; figures of a failed run are discarded.
                if outp.exists():
                    os.replace(outp, run_dir / f"{chapter}.failed.ipynb")
                    res.notebook = str(final_dir / f"{chapter}.failed.ipynb")
                _rmtree(run_dir / "figures")
            for p in run_dir.glob(".*"):
                if p.is_file():
                    p.unlink()
            record = {k: v for k, v in asdict(res).items() if k not in ("claims",)}
            _atomic_json(run_dir / ("cache.json" if exclusive else "run.json"), record)
            if exclusive:
                _swap_dir(run_dir, final_dir)
            else:
                stale = final_dir / (f"{chapter}.ipynb" if res.status != OK
                                     else f"{chapter}.failed.ipynb")
                stale.unlink(missing_ok=True)
                _merge_dir(run_dir, final_dir)
        finally:
            _rmtree(run_dir)
            inp.unlink(missing_ok=True)
        return res

    def _papermill(self, inp: Path, outp: Path, params: dict, cwd: Path, env: dict):
        """Execute notebook ``inp`` into ``outp`` in a child process; ``None`` or the error.

        The child inherits the environment plus ``env`` (the kernel inherits it in turn).
        On KeyboardInterrupt (or any other exception) the child is stopped before re-raising;
        its kernel exits by itself once its parent is gone.
        """
        spec_path = inp.with_suffix(".spec.json")
        err_path = inp.with_suffix(".error.json")
        spec = {"input": str(inp), "output": str(outp), "parameters": params, "cwd": str(cwd),
                "progress": self.progress, "timeout": self.timeout, "error_file": str(err_path)}
        spec_path.write_text(json.dumps(spec), encoding="utf-8")
        proc = subprocess.Popen([sys.executable, "-m", "twophase.book._execute", str(spec_path)],
                                env={**os.environ, **env}, cwd=str(cwd))
        try:
            rc = proc.wait()
        except BaseException:
            _stop(proc)
            raise
        finally:
            spec_path.unlink(missing_ok=True)
        try:
            if rc == 0:
                return None
            if err_path.is_file():
                err = json.loads(err_path.read_text(encoding="utf-8"))
                return f"{err.get('ename', 'Error')}: {err.get('evalue', '')}".strip()
            return f"notebook execution process exited with status {rc}"
        finally:
            err_path.unlink(missing_ok=True)

    def _publish_figures(self, chapter: str, res: ChapterResult) -> None:
        """Copy a chapter's figures to ``_build/figures/<chapter>/`` (swapped in atomically)."""
        final = self.build_dir / "figures" / chapter
        src = self.chapter_dir(chapter) / "figures"
        if res.status != OK:
            _rmtree(final)
            return
        tmp = final.parent / f".{chapter}.tmp-{os.getpid()}"
        _rmtree(tmp)
        if src.is_dir():
            shutil.copytree(src, tmp)
        else:
            tmp.mkdir(parents=True)
        _swap_dir(tmp, final)

    def _reuse(self, chapter: str, key: str) -> ChapterResult | None:
        d = self.chapter_dir(chapter)
        rec = read_cache(d)
        if not rec or rec.get("key") != key or rec.get("status") != OK:
            return None
        if not (d / f"{chapter}.ipynb").is_file():
            return None
        if any(not (d / f).is_file() for f in rec.get("figures", [])):
            return None
        claims = []
        if (d / "claims.json").is_file():
            try:
                claims = json.loads((d / "claims.json").read_text(encoding="utf-8"))
            except ValueError:
                return None
        return ChapterResult(
            chapter=chapter, action="reused", status=OK, seconds=0.0,
            exec_seconds=rec.get("exec_seconds"), profile=rec.get("profile", ""),
            parameters=rec.get("parameters", {}), key=key, claims=claims,
            notebook=str(d / f"{chapter}.ipynb"), figures=rec.get("figures", []),
            executed_utc=rec.get("executed_utc", ""), git_commit=rec.get("git_commit", ""))

    # -- commands ----------------------------------------------------------------------------
    def build(self, profile: str = "quick", only=None, html: bool = True,
              force: bool = False) -> BuildResult:
        """Execute (or reuse) every chapter, write the report, build the HTML."""
        from . import staging

        t_build = time.perf_counter()
        self.profiles.check_profile(profile)
        names = self.chapter_names()
        selected = list(names)
        if only is not None:
            for name in only:
                self.entry(name)  # raises with the valid list
            selected = [n for n in names if n in set(only)]
        results: list[ChapterResult] = []
        n = len(names)
        self._out(f"twophase.book build: profile {profile!r}, {n} chapter(s), "
                  f"output {self.build_dir}")
        for i, entry in enumerate(self.chapters, 1):
            name = entry.name
            tag = f"[{i}/{n}] {name}"
            want = name in selected
            if entry.kind == "missing":
                res = ChapterResult(name, "not run", MISSING if want else SKIPPED,
                                    profile=profile, error=f"{entry.source} does not exist")
                self._out(f"{tag}: {'MISSING ' + str(entry.source) if want else 'skipped'}")
                results.append(res)
                continue
            try:
                params = self.resolve_parameters(name, profile)
                key = self.key(name, profile, params)
            except BookError as exc:
                res = ChapterResult(name, "not run", ERROR if want else SKIPPED, profile=profile,
                                    error=str(exc))
                self._out(f"{tag}: {'ERROR ' + str(exc) if want else 'skipped'}")
                results.append(res)
                continue
            reused = None if force else self._reuse(name, key)
            if reused is not None:
                self._publish_figures(name, reused)
                self._out(f"{tag}: reused (cache key {key[:12]} unchanged)")
                results.append(reused)
                continue
            if not want:
                self._out(f"{tag}: skipped (not selected, no valid cached output)")
                results.append(ChapterResult(name, "not run", SKIPPED, profile=profile, key=key))
                continue
            self._out(f"{tag}: executing (profile {profile}, key {key[:12]}) ...")
            res = self.execute(name, profile, params, self.chapter_dir(name), exclusive=True,
                               key=key)
            self._publish_figures(name, res)
            verdict = res.status.upper() + (f" - {res.error}" if res.error else "")
            self._out(f"{tag}: {verdict} in {res.seconds:.1f} s, claims "
                      f"{res.claims_passed} passed / {res.claims_failed} failed")
            results.append(res)
        out = BuildResult(profile=profile, chapters=results)
        report = staging.report_markdown(self, out)
        _atomic_json(self.build_dir / "report.json", {
            "profile": profile, "finished_utc": _now(),
            "chapters": [dict(asdict(r), claims_passed=r.claims_passed,
                              claims_failed=r.claims_failed) for r in results]})
        (self.build_dir / "report.md").write_text(report, encoding="utf-8")
        if html:
            site = staging.stage_site(self, out, report)
            self._out(f"HTML: staged Sphinx sources in {site}; running jupyter-book (-W) ...")
            ok = staging.run_sphinx(self, site)
            out.sphinx_status = "ok" if ok else "failed"
            out.html = str(self.build_dir / "html")
        out.seconds = time.perf_counter() - t_build
        self._out(staging.terminal_table(out))
        return out

    def run(self, chapter: str, overrides=(), profile: str = "quick", out_dir=None) -> ChapterResult:
        """Execute one chapter with overridden parameters into ``out_dir``."""
        self.entry(chapter)
        self.profiles.check_profile(profile)
        params = self.resolve_parameters(chapter, profile, overrides)
        out_dir = Path(out_dir) if out_dir is not None else self.build_dir / "runs" / chapter
        self._out(f"twophase.book run {chapter}: profile {profile!r}, parameters "
                  f"{json.dumps(params, sort_keys=True)} -> {out_dir}")
        res = self.execute(chapter, profile, params, out_dir, exclusive=False,
                           key=self.key(chapter, profile, params))
        verdict = res.status.upper() + (f" - {res.error}" if res.error else "")
        self._out(f"{chapter}: {verdict} in {res.seconds:.1f} s; claims {res.claims_passed} "
                  f"passed / {res.claims_failed} failed; notebook {res.notebook or '-'}")
        if res.figures:
            self._out("figures: " + ", ".join(str(Path(out_dir) / f) for f in res.figures))
        return res


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_runs(final_dir: Path) -> None:
    """Remove ``.<name>.run-<pid>`` folders left by runners that were killed outright."""
    for p in final_dir.parent.glob(f".{final_dir.name}.run-*"):
        try:
            pid = int(p.name.rsplit("-", 1)[1])
        except ValueError:
            continue
        if pid != os.getpid() and not _pid_alive(pid):
            _rmtree(p)


def _stop(proc: subprocess.Popen, grace: float = 2.0) -> None:
    """Terminate a child process, killing it if it does not exit within ``grace`` seconds."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _default_root() -> Path:
    cwd = Path.cwd()
    if (cwd / "_toc.yml").is_file():
        return cwd.resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "_toc.yml").is_file() and (parent / "lib").is_dir():
            return parent
    raise BookError("cannot find the book root (a folder with _toc.yml); run from the"
                    " repository root or pass --root")
