"""Execute chapters with papermill, cache them, and drive the HTML build.

The flow of ``build``: read ``_toc.yml``; for each chapter resolve its profile parameters
(checked against the chapter's ``parameters`` cell), compute its cache key
(:mod:`twophase.book.cache`), reuse or execute it (jupytext -> nbformat -> papermill), then
stage the executed notebooks as a Sphinx source tree and run Jupyter Book on it with execution
off and warnings as errors (:mod:`twophase.book.staging`).

Writes are atomic: a chapter executes into a private temporary folder (its ``TWOPHASE_OUT``)
and only a finished run is moved into place, so an interrupted or failed run never leaves a
half-written notebook or figure at a final path.

Safety (issue 9): one runner at a time per build folder (``_build/.lock``, see
:mod:`twophase.book.lock`); every child process runs in its own process group with a
parent-death signal (:mod:`twophase.book.procs`); the HTML is built aside and swapped in with
one atomic exchange; temporary files of runners that were killed are removed at the next
start; cached outputs are validated before reuse; each chapter has a time limit.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from . import procs
from .cache import cache_key, read_cache
from .fsops import _atomic_json, _exchange, _merge_dir, _rmtree, _swap_dir  # noqa: F401
from .lock import BuildLock, pid_alive
from .profiles import Profiles
from .claims import read_paper_claims
from .sources import (BookError, Entry, check_rule, check_value, parameter_rules, parse_value,
                      read_notebook, read_parameters, read_toc)

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
    paper_claims: list = field(default_factory=list)
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
    claims_problems: list = field(default_factory=list)   # paper-claim rules broken
    jobs: int = 1
    claims_summary: object = None    # twophase.book.claims.ClaimsSummary

    @property
    def ok(self) -> bool:
        return (all(c.good for c in self.chapters) and self.sphinx_status in ("ok", "not run")
                and not self.claims_problems)

    @property
    def config_error(self) -> bool:
        """A parameter or profile error in some selected chapter (exit status 2)."""
        return any(c.status == ERROR for c in self.chapters)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _git_commit(root: Path) -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root,
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def cpu_count() -> int:
    """Cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


#: Environment variables that cap the threads of BLAS/OpenMP/numba in a chapter's kernel.
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "NUMBA_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS",
               "TWOPHASE_MAX_WORKERS")  # twophase.parallel's own cap (executor=None)
#: Names the runner itself writes into an output folder (``run --out``): a new run replaces
#: all of them, so no file of an earlier run survives beside a new (failed) one.
RUN_FILES = ("claims.json", "paper_claims.json", "run.json", "figures")
_TMP_NAME = re.compile(r"(?:\.(?:run|tmp|old|html-tmp)-|\.input-|\.tmp-)(\d+)(?:$|\.)")


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
    timeout : float, optional
        Wall-time limit of one chapter's execution in seconds; ``None``: the profile's
        default (``timeouts:`` in profiles.yml); ``0``: no limit.
    """

    def __init__(self, root=None, lib_dir=None, build_dir=None, requirements=None,
                 profiles=None, progress: bool = True, out=None, timeout: float | None = None):
        self.root = Path(root).resolve() if root is not None else _default_root()
        self.lib_dir = Path(lib_dir).resolve() if lib_dir is not None else self.root / "lib"
        self.build_dir = (Path(build_dir).resolve() if build_dir is not None
                          else self.root / "_build")
        if self.build_dir.name != "_build":
            raise BookError(f"build_dir must be a folder named _build, got {self.build_dir}")
        if self.build_dir.exists() and not self.build_dir.is_dir():
            raise BookError(f"build folder {self.build_dir} exists but is not a folder")
        self.requirements = (Path(requirements) if requirements is not None
                             else self.root / "requirements.txt")
        self.profiles_path = (Path(profiles) if profiles is not None
                              else self.root / "book" / "profiles.yml")
        self.claims_path = self.root / "book" / "paper_claims.yml"
        self.progress = progress
        self.timeout = _check_timeout(timeout)
        self._out = out or (lambda msg: print(msg, flush=True))
        self.entries: list[Entry] = read_toc(self.root)
        self.chapters = [e for e in self.entries if e.kind in ("chapter", "missing")]
        self._profiles: Profiles | None = None
        self._live: set = set()              # running child processes
        self._live_lock = threading.Lock()
        self._stopping = threading.Event()   # set on interrupt: workers must not publish
        self._threads: dict | None = None    # thread caps for parallel chapters

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

    def chapter_timeout(self, profile: str) -> float | None:
        """The time limit of one chapter in seconds (``None``: no limit)."""
        t = self.timeout if self.timeout is not None else self.profiles.timeout(profile)
        return None if not t else float(t)

    def resolve_parameters(self, chapter: str, profile: str, overrides=(), values=None) -> dict:
        """Profile parameters of ``chapter`` with ``values`` (a mapping, e.g. from ``-f``)
        and then ``overrides`` [(NAME, VALUE-string), ...] applied."""
        entry = self.entry(chapter)
        self.profiles.check_profile(profile)
        if entry.kind == "missing":
            raise BookError(f"chapter {chapter!r} is in _toc.yml but {entry.source} does not exist")
        cell = read_parameters(entry.source)
        params = self.profiles.resolve(chapter, profile, cell)
        rules = parameter_rules(entry.source)

        def known(name):
            if name not in cell:
                raise BookError(f"unknown parameter {name!r} for chapter {chapter!r}; valid"
                                f" parameters: {', '.join(cell) or '(none: no parameters cell)'}")

        for name, value in (values or {}).items():
            known(name)
            params[name] = check_value(name, value, cell[name], "parameters file")
        for name, text in overrides:
            known(name)
            params[name] = parse_value(name, text, cell[name])
        for name, value in params.items():
            check_rule(name, value, rules.get(name))
        return params

    def key(self, chapter: str, profile: str, params: dict) -> str:
        return cache_key(chapter, self.entry(chapter).source, profile, params, self.lib_dir,
                         self.requirements)

    # -- housekeeping --------------------------------------------------------------------------
    def clean_stale(self) -> list:
        """Remove temporary files and folders of runners that are no longer running.

        Looks (not recursively into the site) in ``_build``, ``_build/.tmp``,
        ``_build/chapters``, ``_build/figures`` and ``_build/runs`` for names carrying the pid
        of their writer (``.run-PID``, ``.tmp-PID``, ``.old-PID``, ``.html-tmp-PID``,
        ``.input-PID.*``) and for lock files of runners that died on this host; and in the
        temporary folder for the kernel socket folders of executors no longer running (see
        :class:`~twophase.book.procs.DyingKernelManager`). Returns the removed paths.
        """
        removed = []
        b = self.build_dir
        for folder in (b, b / ".tmp", b / "chapters", b / "figures", b / "runs"):
            if not folder.is_dir():
                continue
            for p in folder.iterdir():
                if p.name.endswith(".lock") and p.is_file():
                    info = BuildLock(p).read() or {}
                    pid = info.get("pid")
                    if (isinstance(pid, int) and pid != os.getpid() and not pid_alive(pid)
                            and info.get("host") == socket.gethostname()):
                        p.unlink(missing_ok=True)
                        removed.append(p)
                    continue
                m = _TMP_NAME.search(p.name)
                if not m or int(m.group(1)) == os.getpid() or pid_alive(int(m.group(1))):
                    continue
                if p.is_dir() and not p.is_symlink():
                    _rmtree(p)
                else:
                    p.unlink(missing_ok=True)
                removed.append(p)
        # kernel socket folders (DyingKernelManager) of executors killed with their runner
        for pid, d in procs.kernel_dirs():
            if pid != os.getpid() and not pid_alive(pid):
                removed += [Path(x) for x in procs.remove_kernel_dirs(pid)]
        return removed

    def _lock(self, path: Path, what: str) -> BuildLock:
        lock = BuildLock(path, command=what)
        lock.acquire()
        if lock.took_over:
            self._out(f"note: took over the stale lock {path} of pid"
                      f" {lock.took_over.get('pid', '?')} (no longer running)")
        return lock

    # -- execution ---------------------------------------------------------------------------
    def execute(self, chapter: str, profile: str, params: dict, final_dir: Path, *,
                exclusive: bool, key: str = "") -> ChapterResult:
        """Execute ``chapter`` into ``final_dir`` atomically and return its result.

        ``exclusive``: the runner owns ``final_dir`` and replaces it as a whole (build mode);
        otherwise the runner's own files in it are replaced (``run --out DIR``).
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
            if self._threads:
                env.update(self._threads)
            error = self._papermill(inp, outp, params, entry.source.parent, env,
                                    timeout=self.chapter_timeout(profile))
            if self._stopping.is_set():
                raise KeyboardInterrupt("stopped")
            if error is not None:
                res.status = FAILED
                res.error = error
            res.exec_seconds = res.seconds = time.perf_counter() - t0
            res.claims = _read_claims(run_dir / "claims.json") or []
            try:
                res.paper_claims = read_paper_claims(run_dir / "paper_claims.json")
            except ValueError as exc:
                res.paper_claims = []
                if res.status == OK:
                    res.status, res.error = FAILED, f"unusable paper claims: {exc}"
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
            record = {k: v for k, v in asdict(res).items() if k not in ("claims", "paper_claims")}
            _atomic_json(run_dir / ("cache.json" if exclusive else "run.json"), record)
            if exclusive:
                _swap_dir(run_dir, final_dir)
            else:
                # everything an earlier run wrote here goes, so nothing stale sits beside it
                final_dir.mkdir(parents=True, exist_ok=True)
                for name in RUN_FILES + (f"{chapter}.ipynb", f"{chapter}.failed.ipynb"):
                    old = final_dir / name
                    if old.is_dir() and not old.is_symlink():
                        _rmtree(old)
                    else:
                        old.unlink(missing_ok=True)
                _merge_dir(run_dir, final_dir)
        finally:
            _rmtree(run_dir)
            inp.unlink(missing_ok=True)
        return res

    def _papermill(self, inp: Path, outp: Path, params: dict, cwd: Path, env: dict,
                   timeout: float | None = None):
        """Execute notebook ``inp`` into ``outp`` in a child process; ``None`` or the error.

        The child inherits the environment plus ``env`` (the kernel inherits it in turn). It
        runs in its own process group with a parent-death signal (so does its kernel): on
        KeyboardInterrupt, any other exception, or after ``timeout`` seconds the group is
        stopped; if the runner is killed outright, the child and its kernel die with it.
        """
        spec_path = inp.with_suffix(".spec.json")
        err_path = inp.with_suffix(".error.json")
        spec = {"input": str(inp), "output": str(outp), "parameters": params, "cwd": str(cwd),
                "progress": self.progress, "timeout": None, "error_file": str(err_path)}
        spec_path.write_text(json.dumps(spec), encoding="utf-8")
        proc = procs.popen([sys.executable, "-m", "twophase.book._execute", str(spec_path)],
                           env={**os.environ, **env}, cwd=str(cwd))
        with self._live_lock:
            self._live.add(proc)
        timed_out = False
        try:
            try:
                rc = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                procs.stop(proc)
                rc = proc.returncode
        except BaseException:
            procs.stop(proc)
            raise
        finally:
            with self._live_lock:
                self._live.discard(proc)
            spec_path.unlink(missing_ok=True)
            if proc.poll() is not None:     # its kernel's sockets, if it was stopped first
                procs.remove_kernel_dirs(proc.pid)
        try:
            if timed_out:
                return (f"timed out: the chapter ran longer than its limit of {timeout:g} s"
                        " and was stopped (raise it with --timeout SECONDS, 0 for no limit)")
            if rc == 0:
                return None
            if err_path.is_file():
                try:
                    err = json.loads(err_path.read_text(encoding="utf-8"))
                    return f"{err.get('ename', 'Error')}: {err.get('evalue', '')}".strip()
                except (OSError, ValueError, AttributeError):
                    pass
            return f"notebook execution process exited with status {rc}"
        finally:
            err_path.unlink(missing_ok=True)

    def stop_children(self) -> None:
        """Stop every running child (used on interrupt, also from worker threads' owner)."""
        self._stopping.set()
        with self._live_lock:
            live = list(self._live)
        for proc in live:
            procs.stop(proc, grace=1.0)

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

    def _reuse(self, chapter: str, key: str):
        """``(ChapterResult or None, note)``: the cached output if it is valid for ``key``.

        Everything is checked before reuse: ``cache.json`` (a mapping with the documented
        fields and types), the executed notebook (readable and valid nbformat), its figures,
        ``claims.json`` and ``paper_claims.json``. ``note`` says why the cache was not used
        when it existed but was unusable (``""`` when there was nothing to reuse or the key
        simply changed).
        """
        import nbformat

        d = self.chapter_dir(chapter)
        if not (d / "cache.json").exists():
            return None, ""
        rec = read_cache(d)
        problem = _cache_problem(rec)
        if problem:
            return None, f"cache.json unusable ({problem})"
        if rec["key"] != key or rec["status"] != OK:
            return None, ""
        nb_path = d / f"{chapter}.ipynb"
        try:
            nb = nbformat.read(str(nb_path), as_version=4)
            nbformat.validate(nb)
        except FileNotFoundError:
            return None, f"executed notebook {nb_path.name} missing"
        except Exception as exc:  # noqa: BLE001 - any unreadable notebook means: execute again
            return None, (f"executed notebook {nb_path.name} unreadable"
                          f" ({type(exc).__name__}: {str(exc).splitlines()[0][:100] if str(exc) else ''})")
        missing = [f for f in rec["figures"] if not (d / f).is_file()]
        if missing:
            return None, f"figure(s) {', '.join(missing)} missing"
        claims = _read_claims(d / "claims.json")
        if claims is None:
            return None, "claims.json unusable"
        try:
            paper = read_paper_claims(d / "paper_claims.json")
        except ValueError as exc:
            return None, f"paper_claims.json unusable ({exc})"
        return ChapterResult(
            chapter=chapter, action="reused", status=OK, seconds=0.0,
            exec_seconds=rec.get("exec_seconds"), profile=rec.get("profile", ""),
            parameters=rec.get("parameters", {}), key=key, claims=claims, paper_claims=paper,
            notebook=str(nb_path), figures=rec["figures"],
            executed_utc=rec.get("executed_utc", ""), git_commit=rec.get("git_commit", "")), ""

    # -- commands ----------------------------------------------------------------------------
    def build(self, profile: str = "quick", only=None, html: bool = True,
              force: bool = False, jobs: int | None = 1) -> BuildResult:
        """Execute (or reuse) every chapter, write the report, build the HTML.

        ``jobs``: how many chapters execute at once (``None``: :func:`default_jobs`); each
        gets ``cores // jobs`` threads for BLAS, OpenMP and numba.
        """
        t_build = time.perf_counter()
        self.profiles.check_profile(profile)
        jobs = default_jobs() if jobs is None else jobs
        if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
            raise BookError(f"jobs (-j) must be an integer >= 1, got {jobs!r}")
        names = self.chapter_names()
        selected = list(names)
        if only is not None:
            for name in only:
                self.entry(name)  # raises with the valid list
            selected = [n for n in names if n in set(only)]
        from .claims import Registry

        registry = Registry.load(self.claims_path, self.root / "book" / "references.bib")
        lock = self._lock(self.build_dir / ".lock", f"build --profile {profile}")
        try:
            for p in self.clean_stale():
                self._out(f"note: removed {p} left by a runner that was killed")
            return self._build(profile, selected, html, force, jobs, registry, t_build)
        finally:
            lock.release()

    def _build(self, profile, selected, html, force, jobs, registry, t_build) -> BuildResult:
        from . import staging

        names = self.chapter_names()
        n = len(names)
        self._stopping.clear()
        results: dict[str, ChapterResult] = {}
        todo = []
        self._out(f"twophase.book build: profile {profile!r}, {n} chapter(s), "
                  f"output {self.build_dir}" + (f", {jobs} chapters at a time" if jobs > 1 else ""))
        tags = {e.name: f"[{i}/{n}] {e.name}" for i, e in enumerate(self.chapters, 1)}
        for entry in self.chapters:
            name, tag = entry.name, tags[entry.name]
            want = name in selected
            if entry.kind == "missing":
                results[name] = ChapterResult(name, "not run", MISSING if want else SKIPPED,
                                              profile=profile,
                                              error=f"{entry.source} does not exist")
                self._out(f"{tag}: {'MISSING ' + str(entry.source) if want else 'skipped'}")
                continue
            try:
                params = self.resolve_parameters(name, profile)
                key = self.key(name, profile, params)
            except BookError as exc:
                results[name] = ChapterResult(name, "not run", ERROR if want else SKIPPED,
                                              profile=profile, error=str(exc))
                self._out(f"{tag}: {'ERROR ' + str(exc) if want else 'skipped'}")
                continue
            reused, note = (None, "") if force else self._reuse(name, key)
            if reused is not None:
                self._publish_figures(name, reused)
                self._out(f"{tag}: reused (cache key {key[:12]} unchanged)")
                results[name] = reused
                continue
            if note:
                self._out(f"{tag}: note: cached output not reused: {note}"
                          + ("; executing again" if want else ""))
            if not want:
                self._out(f"{tag}: skipped (not selected, no valid cached output)")
                results[name] = ChapterResult(name, "not run", SKIPPED, profile=profile, key=key)
                continue
            todo.append((name, params, key))
        jobs = max(1, min(jobs, len(todo)))
        if jobs > 1:  # longest first, so that no long chapter starts last (the table stays in toc order)
            todo = self.longest_first(todo, profile)
        self._threads = thread_caps(jobs) if jobs > 1 else None
        limit = self.chapter_timeout(profile)

        def one(name, params, key):
            self._out(f"{tags[name]}: executing (profile {profile}, key {key[:12]}"
                      + (f", limit {limit:g} s" if limit else "") + ") ...")
            res = self.execute(name, profile, params, self.chapter_dir(name), exclusive=True,
                               key=key)
            self._publish_figures(name, res)
            verdict = res.status.upper() + (f" - {res.error}" if res.error else "")
            self._out(f"{tags[name]}: {verdict} in {res.seconds:.1f} s, claims "
                      f"{res.claims_passed} passed / {res.claims_failed} failed")
            return res

        try:
            if jobs == 1:
                for name, params, key in todo:
                    results[name] = one(name, params, key)
            else:
                results.update(self._parallel(one, todo, jobs))
        finally:
            self._threads = None
        ordered = [results[nm] for nm in names]
        out = BuildResult(profile=profile, chapters=ordered, jobs=jobs)
        self._paper_claims(out, registry)
        report = staging.report_markdown(self, out)
        _atomic_json(self.build_dir / "report.json", {
            "profile": profile, "finished_utc": _now(), "jobs": jobs,
            "claims_problems": out.claims_problems,
            "chapters": [dict(asdict(r), claims_passed=r.claims_passed,
                              claims_failed=r.claims_failed) for r in ordered]})
        _atomic_text(self.build_dir / "report.md", report)
        if html:
            site = staging.stage_site(self, out, report)
            self._out(f"HTML: staged Sphinx sources in {site}; running jupyter-book (-W) ...")
            ok = staging.run_sphinx(self, site)
            out.sphinx_status = "ok" if ok else "failed"
            out.html = str(self.build_dir / "html")
        out.seconds = time.perf_counter() - t_build
        self._out(staging.terminal_table(out))
        return out

    def longest_first(self, todo, profile: str) -> list:
        """``todo`` (items ``(chapter, ...)``) ordered by expected time, longest first.

        The expected time of a chapter is that of its last recorded run of ``profile`` in the
        build folder, else the ``expected_seconds`` hint of ``profiles.yml``; a chapter with
        neither goes first (it may be long). Ties keep the table-of-contents order.
        """
        def expected(name):
            rec = read_cache(self.chapter_dir(name))
            if (isinstance(rec, dict) and rec.get("profile") == profile
                    and isinstance(rec.get("exec_seconds"), (int, float))):
                return float(rec["exec_seconds"])
            hint = self.profiles.expected_seconds(name, profile)
            return float("inf") if hint is None else hint

        rank = {item[0]: i for i, item in enumerate(todo)}
        return sorted(todo, key=lambda item: (-expected(item[0]), rank[item[0]]))

    def _parallel(self, one, todo, jobs) -> dict:
        """Run ``one(*item)`` for every item on ``jobs`` threads (each starts one child)."""
        from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

        results = {}
        pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="chapter")
        futures = {pool.submit(one, *item): item[0] for item in todo}
        try:
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for f in done:
                    results[futures[f]] = f.result()
        except BaseException:
            self.stop_children()
            for f in futures:
                f.cancel()
            pool.shutdown(wait=True)
            raise
        pool.shutdown(wait=True)
        return results

    def _paper_claims(self, out: BuildResult, registry) -> None:
        """Assemble the paper claims, write ``_build/paper_claims.json``, record problems."""
        from .claims import assemble

        summary = assemble(out.chapters, registry)
        out.claims_summary = summary
        out.claims_problems = list(summary.problems)
        _atomic_json(self.build_dir / "paper_claims.json", summary.json_records())
        for note in summary.notes:
            self._out(f"paper claims: note: {note}")
        for p in summary.problems:
            self._out(f"paper claims: FAILED: {p}")

    def run(self, chapter: str, overrides=(), profile: str = "quick", out_dir=None,
            values=None) -> ChapterResult:
        """Execute one chapter with overridden parameters into ``out_dir``.

        ``values``: a mapping of parameter values (``run -f params.yaml``), applied before
        ``overrides``. ``out_dir`` may not be one of the build's own folders (the chapter
        cache ``_build/chapters`` above all: a run there would poison the next build).
        """
        self.entry(chapter)
        self.profiles.check_profile(profile)
        params = self.resolve_parameters(chapter, profile, overrides, values)
        out_dir = Path(out_dir) if out_dir is not None else self.build_dir / "runs" / chapter
        out_dir = self.check_out_dir(out_dir)
        lock = self._lock(out_dir.parent / f".{out_dir.name}.lock", f"run {chapter}")
        try:
            for p in self.clean_stale():
                self._out(f"note: removed {p} left by a runner that was killed")
            self._out(f"twophase.book run {chapter}: profile {profile!r}, parameters "
                      f"{json.dumps(params, sort_keys=True)} -> {out_dir}")
            res = self.execute(chapter, profile, params, out_dir, exclusive=False,
                               key=self.key(chapter, profile, params))
        finally:
            lock.release()
        verdict = res.status.upper() + (f" - {res.error}" if res.error else "")
        self._out(f"{chapter}: {verdict} in {res.seconds:.1f} s; claims {res.claims_passed} "
                  f"passed / {res.claims_failed} failed; notebook {res.notebook or '-'}")
        if res.figures:
            self._out("figures: " + ", ".join(str(Path(out_dir) / f) for f in res.figures))
        return res

    def check_out_dir(self, out_dir) -> Path:
        """``run --out``: refuse a file and every folder the build itself owns."""
        out = Path(out_dir).absolute().resolve()
        if out.exists() and not out.is_dir():
            raise BookError(f"--out {out_dir}: {out} exists and is not a folder")
        b = self.build_dir.resolve()
        owned = [b / "chapters", b / "figures", b / "html", b / "site", b / ".tmp"]
        parts = out.parts
        in_chapters = any(parts[i:i + 2] == ("_build", "chapters") for i in range(len(parts)))
        if out == b or in_chapters or any(out == o or o in out.parents for o in owned):
            raise BookError(f"--out {out_dir}: {out} is one of the build's own folders"
                            f" ({b}/chapters holds the cache that `build` reuses, and"
                            f" figures/html/site are rebuilt from it); choose another folder,"
                            f" e.g. the default {b}/runs/<chapter>")
        return out


def default_jobs() -> int:
    """Chapters to execute at once by default: one per two cores, at least 1, at most 4.

    Measured on the 2-core development machine: two chapters at once with one BLAS thread
    each finish in ~55 % of the serial time (issue 12), so 2 cores -> 2 jobs.
    """
    n = cpu_count()
    return max(1, min(4, n if n <= 2 else n // 2))


def thread_caps(jobs: int) -> dict:
    """Thread-count environment for one of ``jobs`` parallel chapters (its share of cores)."""
    share = str(max(1, cpu_count() // max(1, jobs)))
    return {v: share for v in THREAD_VARS}


def _check_timeout(t):
    if t is None:
        return None
    if isinstance(t, bool) or not isinstance(t, (int, float)) or math.isnan(t) or t < 0 \
            or math.isinf(t):
        raise BookError(f"timeout must be a finite number of seconds >= 0 (0: no limit), got {t!r}")
    return float(t)


def _atomic_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _read_claims(path: Path):
    """A chapter's ``claims.json`` as a list of records; ``[]`` if absent, ``None`` if invalid."""
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, list) or not all(
            isinstance(c, dict) and isinstance(c.get("key"), str)
            and isinstance(c.get("holds"), bool) for c in data):
        return None
    return data


_CACHE_TYPES = {"key": str, "status": str, "figures": list, "parameters": dict,
                "profile": str}


def _cache_problem(rec) -> str:
    """Why a parsed ``cache.json`` cannot be trusted (``""`` if it can)."""
    if rec is None:
        return "not readable JSON"
    if not isinstance(rec, dict):
        return f"expected a mapping, got {type(rec).__name__}"
    for k, typ in _CACHE_TYPES.items():
        if not isinstance(rec.get(k), typ):
            return f"{k!r} must be {typ.__name__}, got {rec.get(k)!r}"[:160]
    for f in rec["figures"]:
        if (not isinstance(f, str) or not f or f.startswith("/") or ".." in Path(f).parts):
            return f"'figures' must list relative file names, got {f!r}"[:160]
    for k in ("exec_seconds",):
        v = rec.get(k)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            return f"{k!r} must be a number, got {v!r}"[:160]
    for k in ("executed_utc", "git_commit"):
        if not isinstance(rec.get(k, ""), str):
            return f"{k!r} must be a string"
    return ""


def _remove_stale_runs(final_dir: Path) -> None:
    """Remove ``.<name>.run-<pid>`` folders left by runners that were killed outright."""
    for p in final_dir.parent.glob(f".{final_dir.name}.run-*"):
        try:
            pid = int(p.name.rsplit("-", 1)[1])
        except ValueError:
            continue
        if pid != os.getpid() and not pid_alive(pid):
            _rmtree(p)


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
