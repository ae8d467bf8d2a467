"""The order in which ``build -j N`` starts chapters: longest expected first.

Expected time: the chapter's last recorded run of the same profile in the build folder, else
the ``expected_seconds`` hint of ``book/profiles.yml``, else unknown (started first). The
results table stays in table-of-contents order (tested with the runner's end-to-end builds).
"""
import json

import pytest

from twophase.book import BookError, Runner

TODO = [("01_alpha", None, None), ("02_beta", None, None)]


def _runner(root):
    return Runner(root=root, progress=False, out=lambda line: None)


def _hint(root, text):
    p = root / "book" / "profiles.yml"
    p.write_text(p.read_text(encoding="utf-8") + text, encoding="utf-8")


def _names(todo):
    return [item[0] for item in todo]


def test_without_hints_or_records_the_toc_order_is_kept(fake_book):
    assert _names(_runner(fake_book).longest_first(TODO, "quick")) == ["01_alpha", "02_beta"]


def test_the_hint_puts_the_longer_chapter_first(fake_book):
    _hint(fake_book, "expected_seconds:\n  quick: {01_alpha: 2, 02_beta: 30}\n")
    r = _runner(fake_book)
    assert _names(r.longest_first(TODO, "quick")) == ["02_beta", "01_alpha"]
    # another profile has no hint: both unknown, toc order
    assert _names(r.longest_first(TODO, "paper")) == ["01_alpha", "02_beta"]


def test_a_chapter_without_hint_starts_before_hinted_ones(fake_book):
    _hint(fake_book, "expected_seconds:\n  quick: {01_alpha: 500}\n")
    assert _names(_runner(fake_book).longest_first(TODO, "quick")) == ["02_beta", "01_alpha"]


def test_a_recorded_run_of_the_same_profile_overrides_the_hint(fake_book):
    _hint(fake_book, "expected_seconds:\n  quick: {01_alpha: 2, 02_beta: 30}\n")
    r = _runner(fake_book)
    d = r.chapter_dir("01_alpha")
    d.mkdir(parents=True)
    (d / "cache.json").write_text(json.dumps({"profile": "quick", "exec_seconds": 45.0}))
    assert _names(r.longest_first(TODO, "quick")) == ["01_alpha", "02_beta"]
    # a record of another profile does not count
    (d / "cache.json").write_text(json.dumps({"profile": "paper", "exec_seconds": 45.0}))
    assert _names(r.longest_first(TODO, "quick")) == ["02_beta", "01_alpha"]


class _Stop(Exception):
    pass


def test_parallel_build_submits_longest_first(fake_book, monkeypatch):
    """``build(jobs=2)`` hands the parallel pool the chapters in longest-first order."""
    _hint(fake_book, "expected_seconds:\n  quick: {01_alpha: 2, 02_beta: 30}\n")
    seen = []

    def fake_parallel(self, one, todo, jobs):
        seen.append((_names(todo), jobs))
        raise _Stop

    monkeypatch.setattr(Runner, "_parallel", fake_parallel)
    with pytest.raises(_Stop):
        _runner(fake_book).build("quick", html=False, jobs=2)
    assert seen == [(["02_beta", "01_alpha"], 2)]


@pytest.mark.parametrize("text, needle", [
    ("expected_seconds: [1, 2]\n", "expected_seconds"),
    ("expected_seconds:\n  quick: {01_alpha: -1}\n", "expected_seconds.quick.01_alpha"),
    ("expected_seconds:\n  quick: {01_alpha: yes}\n", "expected_seconds.quick.01_alpha"),
    ("expected_seconds:\n  quick: {09_nope: 3}\n", "unknown chapter '09_nope'"),
])
def test_bad_hints_are_refused_by_name(fake_book, text, needle):
    _hint(fake_book, text)
    with pytest.raises(BookError, match=needle.replace(".", r"\.")):
        _runner(fake_book).profiles
