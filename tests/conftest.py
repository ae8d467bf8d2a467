"""Shared pytest configuration.

Fixtures for the book runner's tests live here: ``fake_book`` copies a tiny two-chapter book
(``tests/fixtures/fakebook``) into a temporary folder, so the runner can be exercised end to
end in seconds.
"""
import fcntl
import json
import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "book: end-to-end build of the real book (quick profile, Sphinx -W); slow")
    config.addinivalue_line(  # pytest-xdist's own marker, declared for runs without it (-p no:xdist)
        "markers", "xdist_group(name): tests that must run on one xdist worker (--dist loadgroup)")


_BAD_INPUTS: list = []  # (function, outcome) of every bad-input case run (tests/bad_inputs)


def pytest_runtest_logreport(report):
    if report.when == "call":
        _BAD_INPUTS.extend(v for k, v in report.user_properties if k == "bad_input")


def pytest_terminal_summary(terminalreporter):
    """The count line of the bad-input cases (issue 9), from the cases' own test results."""
    if not _BAD_INPUTS or os.environ.get("PYTEST_XDIST_WORKER"):
        return
    counts = {"refused": 0, "other": 0, "silent": 0, "hang": 0}
    for _, status in _BAD_INPUTS:
        counts[status] += 1
    terminalreporter.write_line(
        f"[bad inputs] {len(_BAD_INPUTS)} cases over {len({k for k, _ in _BAD_INPUTS})} functions: "
        f"{counts['refused']} refused with a named error, {counts['other']} other, "
        f"{counts['silent']} silent, {counts['hang']} hung")


@pytest.fixture(scope="session")
def quick_book_build(tmp_path_factory):
    """The session's one ``build --profile quick`` of the real book, with the parallel runner
    (at least two chapters at once, more where ``default_jobs`` says so) into a temporary
    ``_build``: ``(runner, result, build_dir)``.

    Shared by the runner's end-to-end test and the browser tests, so a test run builds the
    real book once. A developer's own ``_build`` is left alone."""
    from twophase.book import Runner
    from twophase.book.runner import default_jobs

    build = tmp_path_factory.mktemp("quick_book") / "_build"
    r = Runner(root=REPO, build_dir=build, progress=False, out=lambda line: None)
    existing = [e.name for e in r.chapters if e.kind == "chapter"]
    res = r.build("quick", only=existing, jobs=max(2, default_jobs()))
    return r, res, build


@pytest.fixture
def repo_root() -> Path:
    return REPO


@pytest.fixture
def fake_book(tmp_path) -> Path:
    """A fresh copy of the fake book; its build folder is ``<copy>/_build``."""
    dst = tmp_path / "fakebook"
    shutil.copytree(FIXTURES / "fakebook", dst)
    return dst


def _shared_path(tmp_path_factory, name: str, make) -> Path:
    """``<base>/<name>``, made by ``make(path)`` once per test run, not once per xdist worker.

    Under xdist every worker's base temporary folder is ``<run>/popen-gw<N>``: the folder is
    made under ``<run>``, which they share, by whichever worker asks first, while the others
    wait on a file lock. Without xdist it lives in the session's own base folder."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    path = base / name
    with open(base / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (base / f"{name}.done").exists():
            if path.exists():
                shutil.rmtree(path)  # a worker died half-way: start again
            make(path)
            (base / f"{name}.done").touch()
    return path


@pytest.fixture(scope="session")
def _built_fake_book_template(tmp_path_factory) -> Path:
    """The fake book after one ``build --profile quick --no-html`` (built once per test run)."""
    def make(dst):
        from twophase.book import Runner

        root = dst / "fakebook"
        shutil.copytree(FIXTURES / "fakebook", root)
        res = Runner(root=root, progress=False, out=lambda line: None).build("quick", html=False, jobs=1)
        assert res.ok, [(c.chapter, c.status, c.error) for c in res.chapters]

    return _shared_path(tmp_path_factory, "fakebook_built", make) / "fakebook"


@pytest.fixture(scope="session")
def html_fake_book(tmp_path_factory, _built_fake_book_template) -> Path:
    """The fake book with its HTML: the template's executed chapters (reused from its cache)
    and one Jupyter Book run, made once per test run. Read-only: for tests that only read the
    pages of a default build."""
    def make(dst):
        from twophase.book import Runner

        root = dst / "fakebook"
        shutil.copytree(_built_fake_book_template, root, symlinks=True)
        lines = []
        res = Runner(root=root, progress=False, out=lines.append).build("quick", jobs=1)
        assert res.ok and res.sphinx_status == "ok", "\n".join(lines)
        assert {c.action for c in res.chapters} == {"reused"}, "\n".join(lines)

    return _shared_path(tmp_path_factory, "fakebook_html", make) / "fakebook"


@pytest.fixture
def built_fake_book(tmp_path, _built_fake_book_template) -> Path:
    """A fresh copy of the fake book with both chapters already executed at ``quick`` (its
    ``_build`` copied from one session build), for tests whose first step is that build."""
    dst = tmp_path / "fakebook"
    shutil.copytree(_built_fake_book_template, dst, symlinks=True)
    return dst


_EXECUTIONS: dict = {}  # this worker's real executions under ``replay``: inputs -> (outputs, error)


def _tree_bytes(d: Path) -> tuple:
    return tuple((p.relative_to(d).as_posix(), p.read_bytes()) for p in sorted(Path(d).rglob("*"))
                 if p.is_file() and "__pycache__" not in p.parts)


def _copy_outputs(src: Path, out: Path) -> None:
    for p in src.iterdir():
        if p.name == "cache.json":
            continue
        if p.is_dir():
            shutil.copytree(p, out / p.name)
        else:
            shutil.copy2(p, out / p.name)


@pytest.fixture
def replay(monkeypatch, tmp_path_factory, _built_fake_book_template):
    """Chapter executions of the fake book whose inputs were already executed for real in this
    session copy those real outputs (executed notebook, figures, claims; the error of a
    failed run) instead of starting a kernel.

    Inputs are the chapter, profile, parameter values, the chapter's source, the fake
    library and the thread caps of the kernel's environment. Known from the start: the
    session's template build (both chapters, ``quick``, ``-j 1``); every other execution runs
    for real once and is remembered for the rest of the session (on this worker).

    For tests of the runner's bookkeeping around an execution (cache decisions, notes,
    clean-up, HTML staging), not of the execution itself. Returns a list to which each
    replayed chapter name is appended."""
    return _install_replay(monkeypatch, tmp_path_factory, _built_fake_book_template, sources=True)


@pytest.fixture
def replay_by_parameters(monkeypatch, tmp_path_factory, _built_fake_book_template):
    """:func:`replay` with inputs that leave out the chapter's source and the fake library:
    an execution after an edit of either copies the outputs of a real run with the same
    chapter, profile, parameters and thread caps. Only for tests of the cache's decisions
    (which edits make the runner execute a chapter again), where the edit is a comment or a
    sentence that no output shows; the decision itself is the runner's, made before it asks
    for an execution."""
    return _install_replay(monkeypatch, tmp_path_factory, _built_fake_book_template, sources=False)


def _install_replay(monkeypatch, tmp_path_factory, template, sources):
    from twophase.book import Runner
    from twophase.book.runner import THREAD_VARS

    real = Runner._papermill
    replayed = []

    def inputs(chapter, profile, params, cwd, env):
        key = (chapter, profile, json.dumps(params, sort_keys=True),
               tuple(env.get(v) for v in THREAD_VARS))
        if not sources:
            return ("by parameters",) + key
        return key + ((Path(cwd) / f"{chapter}.md").read_bytes(), _tree_bytes(Path(cwd).parent / "lib"))

    fixture = FIXTURES / "fakebook"
    for rec in sorted((template / "_build" / "chapters").iterdir()):   # the template's executions
        record = json.loads((rec / "cache.json").read_text())
        key = inputs(rec.name, record["profile"], record["parameters"], fixture / "book", {})
        _EXECUTIONS.setdefault(key, (rec, None))

    def papermill(self, inp, outp, params, cwd, env, timeout=None):
        chapter, out = env["TWOPHASE_CHAPTER"], Path(env["TWOPHASE_OUT"])
        key = inputs(chapter, env["TWOPHASE_PROFILE"], params, cwd, env)
        if key in _EXECUTIONS:
            src, error = _EXECUTIONS[key]
            _copy_outputs(src, out)
            replayed.append(chapter)
            return error
        error = real(self, inp, outp, params, cwd, env, timeout=timeout)
        if not self._stopping.is_set() and (error is None or "timed out" not in error):
            keep = tmp_path_factory.mktemp(f"replay-{chapter}")
            _copy_outputs(out, keep)
            _EXECUTIONS[key] = (keep, error)
        return error

    monkeypatch.setattr(Runner, "_papermill", papermill)
    return replayed


@pytest.fixture(params=["exact", "hd"])
def form(request):
    """Both forms of the moment equations (keep or drop the self term)."""
    return request.param
