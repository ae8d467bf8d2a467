"""`build -j N` (issue 12): chapters in parallel with their share of the cores, results in
table-of-contents order, one failure not stopping the others, Ctrl-C stopping everything."""
import os
import signal
import time

import pytest

from twophase.book import runner as runner_mod
from twophase.book.cli import main as cli

from runner_helpers import alive, descendants, leftovers, runner, set_profile, spawn, wait_for


def outputs(nb_path):
    import nbformat

    nb = nbformat.read(str(nb_path), as_version=4)
    return "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                     for o in c.get("outputs", []))


def test_parallel_build_caps_threads_and_keeps_toc_order(fake_book, monkeypatch):
    monkeypatch.setattr(runner_mod, "cpu_count", lambda: 4)
    r = runner(fake_book)
    res = r.build("quick", html=False, jobs=2)
    assert res.ok and res.jobs == 2, r.lines
    assert [c.chapter for c in res.chapters] == ["01_alpha", "02_beta"]
    assert "BETA threads 2 2 2" in outputs(fake_book / "_build/chapters/02_beta/02_beta.ipynb")
    # -j 1: the kernel keeps the environment's own settings
    set_profile(fake_book, "02_beta", sleep=0.01)
    res = runner(fake_book).build("quick", html=False, jobs=1)
    text = outputs(fake_book / "_build/chapters/02_beta/02_beta.ipynb")
    assert f"BETA threads {os.environ.get('OMP_NUM_THREADS')}" in text


def test_thread_caps_and_default_jobs(monkeypatch):
    monkeypatch.setattr(runner_mod, "cpu_count", lambda: 2)
    assert runner_mod.default_jobs() == 2
    assert runner_mod.thread_caps(2) == {v: "1" for v in runner_mod.THREAD_VARS}
    monkeypatch.setattr(runner_mod, "cpu_count", lambda: 1)
    assert runner_mod.default_jobs() == 1
    monkeypatch.setattr(runner_mod, "cpu_count", lambda: 16)
    assert runner_mod.default_jobs() == 4 and runner_mod.thread_caps(4)["OMP_NUM_THREADS"] == "4"


def test_a_failing_chapter_does_not_stop_the_others(fake_book):
    set_profile(fake_book, "01_alpha", label="x")
    set_profile(fake_book, "02_beta", fail=True, sleep=2.0)
    r = runner(fake_book)
    res = r.build("quick", jobs=2)
    status = [(c.chapter, c.status) for c in res.chapters]
    assert status == [("01_alpha", "ok"), ("02_beta", "failed")]
    assert res.sphinx_status == "ok" and not res.ok
    assert (fake_book / "_build/chapters/01_alpha/01_alpha.ipynb").is_file()
    report = (fake_book / "_build/report.md").read_text()
    assert report.index("{doc}`01_alpha <01_alpha>` | ok") < report.index("{doc}`02_beta <02_beta>` | failed")


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_interrupt_stops_every_parallel_chapter(fake_book, signame):
    set_profile(fake_book, "02_beta", sleep=120.0)
    set_profile(fake_book, "01_alpha", n=4)
    proc = spawn(fake_book, "build", "--no-html", "--no-progress", "-j", "2")
    try:
        assert wait_for(lambda: len(descendants(proc.pid)) >= 2
                        and (fake_book / "_build/chapters" / f".02_beta.run-{proc.pid}"
                             / "02_beta.ipynb").exists(), 120)
        time.sleep(1.0)
        kids = descendants(proc.pid)
        t0 = time.time()
        os.kill(proc.pid, getattr(signal, signame))
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, (out, err)
    assert time.time() - t0 < 30
    assert wait_for(lambda: not any(alive(k) for k in kids), 15)
    assert not (fake_book / "_build/chapters/02_beta").exists()
    assert leftovers(fake_book) == []


def test_jobs_must_be_positive(fake_book, capsys):
    assert cli(["--root", str(fake_book), "build", "-j", "0"]) == 2
    assert "-j expects an integer >= 1" in capsys.readouterr().err
    with pytest.raises(ValueError, match="jobs"):
        runner(fake_book).build("quick", jobs=0)
