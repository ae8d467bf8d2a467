"""Tests of the chapter helpers in twophase.notebook (claim, show_figure, context)."""
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from twophase import notebook  # noqa: E402


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("TWOPHASE_CHAPTER", "01_test")
    monkeypatch.setenv("TWOPHASE_PROFILE", "quick")
    monkeypatch.setenv("TWOPHASE_PARAMS", json.dumps({"S": 20, "eta": 0.5}))
    monkeypatch.setenv("TWOPHASE_OUT", str(tmp_path / "out"))
    monkeypatch.setattr(notebook, "_CLAIMS", [])
    monkeypatch.setattr(notebook, "_PAPER_CLAIMS", [])
    return tmp_path / "out"


def test_context_reads_the_runner_environment(env):
    ctx = notebook.context()
    assert ctx["chapter"] == "01_test" and ctx["profile"] == "quick"
    assert ctx["parameters"] == {"S": 20, "eta": 0.5}
    assert ctx["out"] == str(env)
    from twophase import __version__
    assert ctx["twophase_version"] == __version__
    assert isinstance(ctx["git_commit"], str) and ctx["git_commit"]


def test_context_defaults_without_runner(monkeypatch):
    for k in ("TWOPHASE_CHAPTER", "TWOPHASE_PROFILE", "TWOPHASE_PARAMS", "TWOPHASE_OUT",
              "JPY_SESSION_NAME"):
        monkeypatch.delenv(k, raising=False)
    ctx = notebook.context()
    assert ctx["chapter"] == "interactive" and ctx["parameters"] == {}
    assert ctx["out"].endswith("_build/interactive")


def test_claim_records_and_passes(env, capsys):
    assert notebook.claim("a-holds", 1 < 2, "1 < 2") is True
    assert "[claim PASS] a-holds: 1 < 2" in capsys.readouterr().out
    stored = json.loads((env / "claims.json").read_text())
    assert stored == [{"chapter": "01_test", "key": "a-holds", "holds": True, "detail": "1 < 2"}]
    assert notebook.claims_so_far() == stored


def test_failing_claim_raises_and_is_recorded(env):
    notebook.claim("first", True, "ok")
    with pytest.raises(AssertionError, match="'second' does not hold: 3 > 4 is false"):
        notebook.claim("second", 3 > 4, "3 > 4 is false")
    stored = json.loads((env / "claims.json").read_text())
    assert [(c["key"], c["holds"]) for c in stored] == [("first", True), ("second", False)]


def test_claim_accepts_numpy_bools(env):
    import numpy as np

    assert notebook.claim("np", np.bool_(True), "") is True
    with pytest.raises(AssertionError):
        notebook.claim("np-false", np.float64(1.0) > 2, "")


def test_show_figure_writes_png_pdf_and_provenance(env, monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    png = notebook.show_figure(fig, "fig_a", caption="A line.")
    figdir = env / "figures"
    assert png == figdir / "fig_a.png" and isinstance(png, type(figdir))
    assert hasattr(png, "_ipython_display_")  # not echoed when it ends a notebook cell
    assert png.read_bytes().startswith(b"\x89PNG")
    assert (figdir / "fig_a.pdf").read_bytes().startswith(b"%PDF")
    prov = json.loads((figdir / "fig_a.json").read_text())
    assert prov["chapter"] == "01_test" and prov["profile"] == "quick"
    assert prov["parameters"] == {"S": 20, "eta": 0.5} and prov["caption"] == "A line."
    assert {"twophase_version", "git_commit", "created_utc"} <= set(prov)
    assert sorted(p.name for p in figdir.iterdir()) == ["fig_a.json", "fig_a.pdf", "fig_a.png"]
    assert not plt.fignum_exists(fig.number), "show_figure must close the figure"
    assert shown[0] is fig
    text = shown[1].data
    assert "A line." in text and "Provenance" in text and "profile `quick`" in text
    assert "S=20" in text and "fig_a.pdf" in text


def test_show_figure_failure_leaves_no_partial_files(env, monkeypatch):
    fig, ax = plt.subplots()
    real = fig.savefig

    def savefig(path, *a, **k):
        if str(path).endswith(".pdf"):
            raise KeyboardInterrupt
        return real(path, *a, **k)

    monkeypatch.setattr(fig, "savefig", savefig)
    with pytest.raises(KeyboardInterrupt):
        notebook.show_figure(fig, "fig_b", display=False)
    figdir = env / "figures"
    assert list(figdir.iterdir()) == []
    plt.close(fig)


@pytest.mark.parametrize("bad", ["", "../x", "a/b", ".hidden"])
def test_show_figure_rejects_bad_names(env, bad):
    fig = plt.figure()
    with pytest.raises(ValueError, match="name"):
        notebook.show_figure(fig, bad, display=False)
    plt.close(fig)


def test_claim_refuses_anything_but_a_bool(env):
    import numpy as np

    for bad in (float("nan"), "no", 1, np.float64(1.0), None, np.array([True])):
        with pytest.raises(TypeError, match="holds must be a bool"):
            notebook.claim("k", bad, "")
    assert notebook.claims_so_far() == []


@pytest.fixture
def no_runner(monkeypatch):
    for k in ("TWOPHASE_CHAPTER", "TWOPHASE_PROFILE", "TWOPHASE_PARAMS", "TWOPHASE_OUT",
              "JPY_SESSION_NAME"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setattr(notebook, "_CLAIMS", [])
    monkeypatch.setattr(notebook, "_PAPER_CLAIMS", [])


def test_context_finds_the_chapter_of_the_executing_notebook(no_runner, monkeypatch, tmp_path):
    """Without the runner (a plain `jupyter-book build .` with twophase.book.sphinx_ext, or a
    Jupyter server) the kernel's JPY_SESSION_NAME names the notebook: the chapter is its stem
    and the outputs go to <book root>/_build/interactive/<chapter>."""
    book = tmp_path / "mybook"
    (book / "book").mkdir(parents=True)
    (book / "_toc.yml").write_text("root: book/intro\n")
    monkeypatch.setenv("JPY_SESSION_NAME", str(book / "book" / "03_diloco.md"))
    ctx = notebook.context()
    assert ctx["chapter"] == "03_diloco"
    assert ctx["out"] == str(book / "_build" / "interactive" / "03_diloco")
    notebook.claim("c", True, "")
    assert json.loads((book / "_build/interactive/03_diloco/claims.json").read_text())[0][
        "chapter"] == "03_diloco"
    # a relative session path (as Jupyter servers give it): the stem still names the chapter
    monkeypatch.setenv("JPY_SESSION_NAME", "book/05_local_method.md")
    ctx = notebook.context()
    assert ctx["chapter"] == "05_local_method" and ctx["out"].endswith(
        "_build/interactive/05_local_method")
    # the runner's variables win
    monkeypatch.setenv("TWOPHASE_CHAPTER", "01_sgd")
    monkeypatch.setenv("TWOPHASE_OUT", str(tmp_path / "o"))
    assert notebook.context()["chapter"] == "01_sgd"
    assert notebook.context()["out"] == str(tmp_path / "o")


def test_paper_claim_records_and_replaces_by_id(env, capsys):
    rec = notebook.paper_claim("I-x", "reproduced", "always", "fig-x", checks=["a", "b"])
    assert rec == {"id": "I-x", "verdict": "reproduced", "conditions": "always",
                   "chapter": "01_test", "evidence": "fig-x", "checks": ["a", "b"]}
    notebook.paper_claim("I-y", "not reproduced", "never", "sec-y")
    notebook.paper_claim("I-x", "reproduced under conditions", "sometimes", "fig-x")
    stored = json.loads((env / "paper_claims.json").read_text())
    assert [(r["id"], r["verdict"]) for r in stored] == [
        ("I-y", "not reproduced"), ("I-x", "reproduced under conditions")]
    assert notebook.paper_claims_so_far() == stored
    assert "[paper claim] I-y: not reproduced: never" in capsys.readouterr().out


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"verdict": "holds"}, ValueError, "verdict must be one of"),
    ({"id": ""}, TypeError, "id must be a non-empty str"),
    ({"evidence": 3}, TypeError, "evidence must be a non-empty str"),
    ({"conditions": " "}, TypeError, "conditions must be a non-empty str"),
    ({"checks": "a-check"}, TypeError, "checks must be a sequence"),
    ({"checks": [1]}, TypeError, "checks must be a sequence"),
])
def test_paper_claim_refuses_bad_input(env, kwargs, exc, match):
    args = dict(id="I-x", verdict="reproduced", conditions="c", evidence="e")
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        notebook.paper_claim(**args)
    assert not (env / "paper_claims.json").exists()
