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
    for k in ("TWOPHASE_CHAPTER", "TWOPHASE_PROFILE", "TWOPHASE_PARAMS", "TWOPHASE_OUT"):
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
