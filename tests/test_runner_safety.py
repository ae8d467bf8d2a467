"""The runner cannot be raced, poisoned or left half-done (issue 9), on the fake book.

Each test names the finding of issue 9 it covers: the lock, `run --out` into the cache, the
interrupted HTML stage, orphans after SIGKILL and temporary files, malformed cache files,
file-system errors, exit codes and the per-chapter time limit.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import nbformat
import pytest

from twophase.book import procs
from twophase.book.cli import main as cli
from twophase.book.lock import BuildLock

from runner_helpers import (actions, alive, descendants, leftovers, read_json, runner,
                            set_profile, spawn, tree_state, wait_for)


# -- one build at a time -------------------------------------------------------------------------

def test_lock_names_its_live_holder_and_a_dead_holder_is_taken_over(fake_book, capsys, replay):
    """A lock held by a live process refuses the build (exit 2, holder named); once that
    process is gone the lock is stale and the next build takes it over."""
    holder = subprocess.Popen(["sleep", "60"])
    lock = fake_book / "_build/.lock"
    lock.parent.mkdir(parents=True)
    lock.write_text(json.dumps({"pid": holder.pid, "host": socket.gethostname(),
                                "started_utc": "2026-12-01T20:00:00+00:00",
                                "command": "build --profile paper"}))
    try:
        code = cli(["--root", str(fake_book), "build", "--no-html", "--no-progress"])
        err = capsys.readouterr().err
        assert code == 2, err
        assert f"pid {holder.pid} on host {socket.gethostname()} since 2026-12-01T20:00:00" in err
        assert "build --profile paper" in err and str(lock) in err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert not (fake_book / "_build/chapters").exists(), "a refused build wrote outputs"
    finally:
        holder.kill()
        holder.wait()
    code = cli(["--root", str(fake_book), "build", "--no-html", "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"took over the stale lock {lock} of pid {holder.pid}" in out
    assert not lock.exists(), "the lock is released when the build ends"


def test_two_real_builds_on_one_folder_never_race(fake_book, capsys):
    """A second build while a first one runs is refused and names the first one's pid; the
    first build finishes untouched."""
    set_profile(fake_book, "02_beta", sleep=2.0)   # the lock is held to the end of Sphinx
    first = spawn(fake_book, "build", "--no-progress", "-j", "1")
    lock = fake_book / "_build/.lock"
    try:
        assert wait_for(lock.exists, 60)
        code = cli(["--root", str(fake_book), "build", "--no-progress"])
        err = capsys.readouterr().err
        assert code == 2 and f"pid {first.pid} on host" in err, err
        out, err1 = first.communicate(timeout=240)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, (out, err1)
    assert "sphinx: ok" in out
    assert leftovers(fake_book) == []
    assert not list((fake_book / "_build").glob(".site.tmp-*"))


def test_stale_lock_module_refuses_own_pid_twice(tmp_path):
    with BuildLock(tmp_path / ".lock") as lk:
        assert lk.held and read_json(tmp_path / ".lock")["pid"] == os.getpid()
        with pytest.raises(ValueError, match="already in use by this process"):
            BuildLock(tmp_path / ".lock").acquire()
    assert not (tmp_path / ".lock").exists()


# -- run --out cannot poison the cache -----------------------------------------------------------

@pytest.mark.parametrize("out", ["_build/chapters/01_alpha", "_build/chapters",
                                 "_build/chapters/01_alpha/deeper", "_build", "_build/html",
                                 "_build/figures/01_alpha", "elsewhere/_build/chapters/x"])
def test_run_out_refuses_the_builds_own_folders(built_fake_book, capsys, out):
    fake_book = built_fake_book
    before = (fake_book / "_build/chapters/01_alpha/cache.json").read_bytes()
    code = cli(["--root", str(fake_book), "run", "01_alpha", "-p", "n", "9", "--no-progress",
                "--out", str(fake_book / out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "is one of the build's own folders" in err and "runs/<chapter>" in err
    assert (fake_book / "_build/chapters/01_alpha/cache.json").read_bytes() == before
    again = runner(fake_book).build("quick", html=False, jobs=1)
    assert actions(again) == {"01_alpha": "reused", "02_beta": "reused"}
    assert "ALPHA n=3" in (fake_book / "_build/chapters/01_alpha/01_alpha.ipynb").read_text()


def test_run_out_that_is_a_file_is_one_line(fake_book, capsys):
    f = fake_book / "a_file"
    f.write_text("x")
    code = cli(["--root", str(fake_book), "run", "01_alpha", "--out", str(f)])
    err = capsys.readouterr().err
    assert code == 2 and f"{f} exists and is not a folder" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


# -- the HTML stage is atomic --------------------------------------------------------------------

def test_sigterm_during_sphinx_leaves_the_previous_site(fake_book, replay):
    """SIGTERM while Jupyter Book runs: exit 130, `_build/html` byte-for-byte the previous
    site, no `.site.tmp-*`/`.html-tmp-*` left, and the message says what was kept."""
    assert runner(fake_book).build("quick", jobs=1).ok
    html = fake_book / "_build/html"
    before = tree_state(html)
    assert "index.html" in before
    proc = spawn(fake_book, "build", "--no-progress", "-j", "1")
    aside = fake_book / f"_build/.html-tmp-{proc.pid}"
    try:
        # Jupyter Book has started writing its output aside: the Sphinx stage is running
        assert wait_for(lambda: (aside / "_build").exists(), 120, 0.01), \
            proc.communicate(timeout=60)
        os.kill(proc.pid, signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, (out, err)
    assert "_build/html is the previous complete site" in err
    assert tree_state(html) == before
    assert not aside.exists()
    assert leftovers(fake_book) == []
    assert not [p for p in (fake_book / "_build").iterdir() if "tmp" in p.name and p.name != ".tmp"]


def test_html_is_exchanged_not_rebuilt_in_place(fake_book, replay):
    """After a successful second build the site is the new one (its report shows the new
    parameter) and no old copy is left beside it."""
    assert runner(fake_book).build("quick", jobs=1).ok
    set_profile(fake_book, "01_alpha", n=6)
    assert runner(fake_book).build("quick", jobs=1).ok
    assert "n=6" in (fake_book / "_build/html/book/report.html").read_text()
    assert sorted(p.name for p in (fake_book / "_build").iterdir() if p.name.startswith(".")) \
        in ([".tmp"], [])


# -- children die with the runner; temporary files are cleaned -----------------------------------

def test_sigkill_of_the_runner_leaves_no_orphan_and_next_start_cleans(fake_book):
    proc = spawn(fake_book, "run", "02_beta", "-p", "sleep", "120", "--no-progress")
    run_dir = fake_book / "_build/runs" / f".02_beta.run-{proc.pid}"
    tmp = fake_book / "_build/.tmp"
    try:
        # the executor and its kernel are running, and the chapter's cell is sleeping
        assert wait_for(lambda: len(descendants(proc.pid)) >= 2
                        and (run_dir / "02_beta.ipynb").exists(), 120), "never started"
        time.sleep(2.0)
        kids = descendants(proc.pid)
        assert len(kids) >= 2, f"expected the executor and its kernel, got {kids}"
        sockets = [d for pid, d in procs.kernel_dirs() if pid in kids]
        assert len(sockets) == 1, f"the executor's kernel socket folder: {sockets}"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert wait_for(lambda: not any(alive(k) for k in kids), 15), \
            f"orphans left: {[k for k in kids if alive(k)]}"
    finally:
        if proc.poll() is None:
            proc.kill()
    # a killed runner cannot clean up: its temporary files stay ...
    assert list(tmp.glob(f"02_beta.input-{proc.pid}.*")) and run_dir.exists()
    # ... until the next runner starts (a run or a build), which removes them
    r = runner(fake_book)
    res = r.run("01_alpha")
    assert res.good
    assert not list(tmp.glob(f"*.input-{proc.pid}.*")) and not run_dir.exists()
    assert not os.path.exists(sockets[0]), f"{sockets[0]} of the killed executor is still there"
    assert any("left by a runner that was killed" in ln for ln in r.lines)
    assert leftovers(fake_book) == []


def test_stale_temporaries_of_every_kind_are_cleaned_at_build_start(fake_book, replay):
    dead = 999999999
    b = fake_book / "_build"
    made = [b / f".site.tmp-{dead}", b / f".html-tmp-{dead}", b / f".html.old-{dead}",
            b / "figures" / f".01_alpha.tmp-{dead}", b / "chapters" / f".01_alpha.run-{dead}"]
    for d in made:
        (d / "sub").mkdir(parents=True)
    files = [b / ".tmp" / f"01_alpha.input-{dead}.ipynb", b / ".tmp" / f"01_alpha.input-{dead}.spec.json",
             b / f".report.json.tmp-{dead}"]
    for f in files:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("{half")
    live = b / ".tmp" / f"01_alpha.input-{os.getppid()}.ipynb"   # a live pid: kept
    live.write_text("x")
    assert runner(fake_book).build("quick", html=False, jobs=1).ok
    assert not any(p.exists() for p in made + files)
    assert live.exists()


# -- cached outputs are validated before reuse ---------------------------------------------------

def _set_cache(d, **changes):
    rec = read_json(d / "cache.json")
    rec.update(changes)
    (d / "cache.json").write_text(json.dumps(rec))


MUTATIONS = {
    "cache-list": lambda d: (d / "cache.json").write_text("[1, 2]"),
    "cache-not-json": lambda d: (d / "cache.json").write_text("{half"),
    "cache-figures-5": lambda d: _set_cache(d, figures=5),
    "cache-key-int": lambda d: _set_cache(d, key=12),
    "cache-figure-escapes": lambda d: _set_cache(d, figures=["../../../etc/passwd"]),
    "notebook-not-json": lambda d: (d / "01_alpha.ipynb").write_text("{half"),
    "notebook-invalid": lambda d: (d / "01_alpha.ipynb").write_text(
        json.dumps({"cells": 5, "nbformat": 4, "nbformat_minor": 5, "metadata": {}})),
    "claims-wrong-type": lambda d: (d / "claims.json").write_text("[1]"),
    "paper-claims-wrong": lambda d: (d / "paper_claims.json").write_text('{"id": 1}'),
}


def test_malformed_cache_files_mean_execute_again(built_fake_book, replay):
    """Each corruption of a chapter's cached output (valid key) re-executes that chapter with
    a one-line note, never a traceback and never a reuse."""
    fake_book = built_fake_book
    good = fake_book / "_build/chapters/01_alpha"
    saved = fake_book / "saved_alpha"
    shutil.copytree(good, saved)
    for name, mutate in MUTATIONS.items():
        shutil.rmtree(good)
        shutil.copytree(saved, good)
        mutate(good)
        r = runner(fake_book)
        res = r.build("quick", html=False, jobs=1)
        assert actions(res)["01_alpha"] == "executed", (name, r.lines)
        assert res.ok, (name, r.lines)
        notes = [ln for ln in r.lines if "note: cached output not reused" in ln]
        assert len(notes) == 1 and "executing again" in notes[0], (name, r.lines)
        nbformat.validate(nbformat.read(str(good / "01_alpha.ipynb"), as_version=4))
        assert isinstance(read_json(good / "cache.json")["figures"], list)
    assert replay == ["01_alpha"] * len(MUTATIONS)  # the runner's decisions; no kernel started


# -- file-system errors are one line -------------------------------------------------------------

def _one_line_error(capsys, argv, expect):
    code = cli(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert expect in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_build_folder_is_one_line(fake_book, capsys):
    b = fake_book / "_build"
    b.mkdir()
    b.chmod(0o555)
    try:
        _one_line_error(capsys, ["--root", str(fake_book), "build", "--no-html"], str(b))
    finally:
        b.chmod(0o755)


def test_unwritable_build_folder_is_one_line(fake_book, capsys):
    """A build folder that cannot be created (a read-only system folder: works as root)."""
    _one_line_error(capsys, ["--root", str(fake_book), "build", "--no-html", "--build-dir",
                             "/sys/_build"], "/sys/_build")


def test_build_subfolder_that_is_a_file_is_one_line(fake_book, capsys):
    (fake_book / "_build").mkdir()
    (fake_book / "_build/chapters").write_text("not a folder")
    _one_line_error(capsys, ["--root", str(fake_book), "build", "--no-html", "-j", "1"],
                    str(fake_book / "_build/chapters"))


def test_build_dir_that_is_a_file_is_one_line(fake_book, capsys):
    (fake_book / "_build").write_text("x")
    _one_line_error(capsys, ["--root", str(fake_book), "build"], "is not a folder")


# -- exit codes: every parameter and profile error is 2 ------------------------------------------

@pytest.mark.parametrize("argv", [
    ["build", "--profile", "huge"],
    ["build", "--only", "99_nope"],
    ["build", "-j", "0"],
    ["build", "--timeout", "-1"],
    ["build", "--timeout", "nan"],
    ["run", "01_alpha", "--timeout", "inf"],
    ["run", "99_nope"],
    ["run", "01_alpha", "-p", "n", "x"],
    ["run", "01_alpha", "-p", "n", "0"],
    ["run", "01_alpha", "--bogus-flag"],
    ["list", "99_nope"],
])
def test_usage_errors_exit_2(fake_book, capsys, argv):
    assert cli(["--root", str(fake_book)] + argv) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_profile_errors_exit_2_in_build_and_in_run(fake_book, capsys):
    set_profile(fake_book, "01_alpha", n="three")
    assert cli(["--root", str(fake_book), "build", "--no-html", "--no-progress"]) == 2
    assert cli(["--root", str(fake_book), "run", "01_alpha", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "'n'" in err and "int" in err
    set_profile(fake_book, "01_alpha", n=0)   # breaks the cell's rule `in [1, inf)`
    assert cli(["--root", str(fake_book), "build", "--no-html", "--no-progress"]) == 2
    assert cli(["--root", str(fake_book), "run", "01_alpha", "--no-progress"]) == 2


def test_bad_profiles_file_exits_2(fake_book, capsys):
    (fake_book / "book/profiles.yml").write_text("chapters: [1, 2]\n")
    assert cli(["--root", str(fake_book), "build", "--no-html"]) == 2
    assert cli(["--root", str(fake_book), "run", "01_alpha"]) == 2
    assert "expected a top-level mapping" in capsys.readouterr().err


# -- the time limit ------------------------------------------------------------------------------

def test_timeout_ends_a_runaway_chapter(fake_book, capsys):
    t0 = time.time()
    code = cli(["--root", str(fake_book), "run", "02_beta", "-p", "sleep", "120",
                "--timeout", "4", "--no-progress"])
    out = capsys.readouterr().out
    assert code == 1, out
    assert time.time() - t0 < 60
    assert "timed out: the chapter ran longer than its limit of 4 s" in out
    rec = read_json(fake_book / "_build/runs/02_beta/run.json")
    assert rec["status"] == "failed" and "timed out" in rec["error"]
    assert not (fake_book / "_build/runs/02_beta/02_beta.ipynb").exists()
    assert leftovers(fake_book) == []


def test_timeout_in_build_fails_only_that_chapter_and_defaults_per_profile(fake_book, replay):
    r = runner(fake_book)
    assert r.chapter_timeout("quick") == 600 and r.chapter_timeout("paper") == 1800
    assert runner(fake_book, timeout=0).chapter_timeout("quick") is None
    set_profile(fake_book, "02_beta", sleep=120.0)
    limit = 8
    r = runner(fake_book, timeout=limit)   # alpha is replayed (no kernel), beta would sleep 120 s
    res = r.build("quick", html=False, jobs=1)
    status = {c.chapter: c.status for c in res.chapters}
    assert status == {"01_alpha": "ok", "02_beta": "failed"} and replay == ["01_alpha"]
    assert "timed out" in res.chapters[1].error and not res.ok
    assert limit <= res.chapters[1].seconds < 80
