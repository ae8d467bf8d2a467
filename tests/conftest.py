"""Shared pytest configuration.

Fixtures for the book runner's tests live here: ``fake_book`` copies a tiny two-chapter book
(``tests/fixtures/fakebook``) into a temporary folder, so the runner can be exercised end to
end in seconds.
"""
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


@pytest.fixture(scope="session")
def quick_book_build(tmp_path_factory):
    """The session's one ``build --profile quick`` of the real book, with the parallel runner
    (default ``-j``) into a temporary ``_build``: ``(runner, result, build_dir)``.

    Shared by the runner's end-to-end test and the browser tests, so a test run builds the
    real book once. A developer's own ``_build`` is left alone."""
    from twophase.book import Runner

    build = tmp_path_factory.mktemp("quick_book") / "_build"
    r = Runner(root=REPO, build_dir=build, progress=False, out=lambda line: None)
    existing = [e.name for e in r.chapters if e.kind == "chapter"]
    res = r.build("quick", only=existing, jobs=None)
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


@pytest.fixture(scope="session")
def _built_fake_book_template(tmp_path_factory) -> Path:
    """The fake book after one ``build --profile quick --no-html`` (built once per session)."""
    from twophase.book import Runner

    root = tmp_path_factory.mktemp("fakebook_built") / "fakebook"
    shutil.copytree(FIXTURES / "fakebook", root)
    res = Runner(root=root, progress=False, out=lambda line: None).build("quick", html=False, jobs=1)
    assert res.ok, [(c.chapter, c.status, c.error) for c in res.chapters]
    return root


@pytest.fixture
def built_fake_book(tmp_path, _built_fake_book_template) -> Path:
    """A fresh copy of the fake book with both chapters already executed at ``quick`` (its
    ``_build`` copied from one session build), for tests whose first step is that build."""
    dst = tmp_path / "fakebook"
    shutil.copytree(_built_fake_book_template, dst, symlinks=True)
    return dst


@pytest.fixture(params=["exact", "hd"])
def form(request):
    """Both forms of the moment equations (keep or drop the self term)."""
    return request.param
