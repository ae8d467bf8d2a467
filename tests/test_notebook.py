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
    assert notebook.claim("a-holds", 1 < 2, "1 < 2") is None  # nothing to echo: no stray True in the book
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

    assert notebook.claim("np", np.bool_(True), "") is None
    with pytest.raises(AssertionError):
        notebook.claim("np-false", np.float64(1.0) > 2, "")


def _capture_display(monkeypatch):
    """Record what show_figure displays: (bundle or object, raw, metadata) per call."""
    import IPython.display

    shown = []

    def fake_display(obj, raw=False, metadata=None, **kw):
        shown.append((obj, raw, metadata or {}))

    monkeypatch.setattr(IPython.display, "display", fake_display)
    import myst_nb.ext.glue as glue_mod

    monkeypatch.setattr(glue_mod, "ipy_display", fake_display)
    return shown


def test_show_figure_writes_png_pdf_and_provenance(env, monkeypatch):
    shown = _capture_display(monkeypatch)
    fig, ax = plt.subplots(figsize=(5, 3))
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
    assert len(shown) == 2


def test_show_figure_glues_the_png_it_wrote(env, monkeypatch):
    """The book's image is the saved high-dpi PNG, glued (hidden) under figure-<name>."""
    import base64

    shown = _capture_display(monkeypatch)
    fig, ax = plt.subplots(figsize=(5, 3))
    png = notebook.show_figure(fig, "fig_g", caption="Glued.")
    bundle, raw, meta = shown[0]
    assert raw and meta["scrapbook"] == {"name": "figure-fig_g",
                                         "mime_prefix": "application/papermill.record/"}
    data = bundle["application/papermill.record/image/png"]
    assert base64.b64decode(data) == png.read_bytes()
    # nothing of the glue output is displayable by itself (all keys carry the prefix)
    assert all(k.startswith("application/papermill.record/") for k in bundle)


def test_show_figure_emits_a_numbered_labelled_figure_with_downloads(env, monkeypatch):
    shown = _capture_display(monkeypatch)
    fig, ax = plt.subplots(figsize=(5, 3))
    notebook.show_figure(fig, "fig_a", caption="A line with $x^2$ math.")
    bundle, raw, _ = shown[1]
    assert raw and set(bundle) == {"text/markdown", "text/html", "text/plain"}
    md = bundle["text/markdown"]
    lines = md.splitlines()
    # a glue:figure directive labelled with the figure's name, whose first content paragraph
    # is the caption (Sphinx numbers captioned figures: numfig)
    assert lines[0] == "````{glue:figure} figure-fig_a" and lines[-1] == "````"
    assert ":name: fig_a" in lines
    blank = lines.index("")
    assert lines[blank + 1] == "A line with $x^2$ math." and lines[blank + 2] == ""
    # downloads point where the staging step copies the chapter's figures
    for ext in ("png", "pdf", "json"):
        assert f"</figures/01_test/fig_a.{ext}>`" in md
    # one collapsed provenance line: profile, commit, link to the page's parameters box
    summary = [ln for ln in lines if ln.startswith(":::{dropdown}")]
    assert len(summary) == 1
    ctx = notebook.context()
    assert "profile `quick`" in summary[0] and f"commit `{ctx['git_commit']}`" in summary[0]
    assert f"{{ref}}`parameters <{notebook.run_info_label('01_test')}>`" in summary[0]
    assert "`" not in summary[0].split("{dropdown}")[0]  # colon fence: backticks allowed
    # the parameter list itself is not repeated under the figure
    assert "S=20" not in md and "eta" not in md
    # Jupyter shows the image and caption as HTML
    html = bundle["text/html"]
    assert html.startswith('<figure id="fig_a"><img src="data:image/png;base64,')
    assert "<figcaption>A line with $x^2$ math.</figcaption>" in html


def test_show_figure_plain_build_links_files_under_the_repository(monkeypatch, tmp_path):
    """Outside the runner (e.g. a plain `jupyter-book build .`), the files are written under
    the repository's _build/interactive and linked from there; no parameters box exists."""
    for k in ("TWOPHASE_CHAPTER", "TWOPHASE_PROFILE", "TWOPHASE_PARAMS", "TWOPHASE_OUT"):
        monkeypatch.delenv(k, raising=False)
    root = tmp_path / "repo"
    monkeypatch.setattr(notebook, "_repo_root", lambda: root)
    shown = _capture_display(monkeypatch)
    fig = plt.figure(figsize=(4, 3))
    png = notebook.show_figure(fig, "fig_p", caption="Plain.")
    assert png == root / "_build/interactive/figures/fig_p.png" and png.is_file()
    md = shown[1][0]["text/markdown"]
    assert "</_build/interactive/figures/fig_p.pdf>`" in md
    assert "{ref}" not in md and "parameters: notebook defaults" in md


@pytest.mark.parametrize("size, expect_size", [
    ((13.0, 3.8), (7.2, 3.0)),      # wide and flat: to the column, kept 3 in high
    ((14.4, 8.0), (7.2, 4.0)),      # wide: to the column, aspect kept
    ((7.2, 4.0), (7.2, 4.0)),       # exactly the column
    ((3.6, 2.0), (3.6, 2.0)),       # narrow: unchanged, shown at about half the column
    ((13.0, 2.0), (7.2, 2.0)),      # short already: the height is never increased
])
def test_show_figure_fits_the_column(env, monkeypatch, size, expect_size):
    """Fonts are readable where shown: a wide figure is re-laid out at the column width, so
    a 10 pt label is 10 pt of a 7.2 in figure drawn over ~750 px, not scaled down by the
    browser; the PNG is 200 dpi (twice the on-screen density) and shown at its own width
    (PNG pixels / 200 dpi as a share of the 7.2 in column, at most 100 %)."""
    import re

    from PIL import Image

    shown = _capture_display(monkeypatch)
    fig = plt.figure(figsize=size)
    fig.add_subplot().plot([0, 1])
    png = notebook.show_figure(fig, "fig_w", caption="Wide.")
    assert tuple(round(float(v), 6) for v in fig.get_size_inches()) == expect_size
    with Image.open(png) as im:
        w_px = im.size[0]
        dpi = im.info["dpi"][0]
    assert round(dpi) == notebook.PNG_DPI
    # bbox_inches="tight" trims the empty margins (up to ~20 % with the default subplot
    # margins) or grows them for text that sticks out
    assert abs(w_px / notebook.PNG_DPI - expect_size[0]) < 0.25 * expect_size[0]
    pct = int(re.search(r":width: (\d+)%", shown[1][0]["text/markdown"]).group(1))
    expect_pct = min(100, round(100 * w_px / notebook.PNG_DPI / notebook.COLUMN_WIDTH_IN))
    assert pct == expect_pct and (pct == 100) == (w_px >= 0.995 * 7.2 * notebook.PNG_DPI)


def test_fit_to_column_gives_a_layout_engine_only_when_resizing():
    fig = plt.figure(figsize=(12, 4))
    assert fig.get_layout_engine() is None
    assert notebook.fit_to_column(fig) == notebook.COLUMN_WIDTH_IN
    assert type(fig.get_layout_engine()).__name__ == "ConstrainedLayoutEngine"
    small = plt.figure(figsize=(5, 3))
    assert notebook.fit_to_column(small) == 5 and small.get_layout_engine() is None
    tight = plt.figure(figsize=(12, 4), layout="tight")
    notebook.fit_to_column(tight)
    assert type(tight.get_layout_engine()).__name__ == "TightLayoutEngine"  # kept
    plt.close("all")


def test_show_figure_requires_a_caption_when_shown(env):
    fig = plt.figure()
    with pytest.raises(ValueError, match="caption"):
        notebook.show_figure(fig, "fig_c")
    with pytest.raises(TypeError, match="caption"):
        notebook.show_figure(fig, "fig_c", caption=None)
    assert not (env / "figures" / "fig_c.png").exists()
    plt.close(fig)


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


@pytest.mark.parametrize("bad", ["", "../x", "a/b", ".hidden", "a b", "x`y", 3])
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


@pytest.mark.parametrize("size", [(10.0, 3.0), (4.0, 3.0)], ids=["wide-constrained", "narrow-no-engine"])
def test_show_figure_png_is_the_tight_savefig_pixel_for_pixel(env, monkeypatch, tmp_path, size):
    """show_figure lays the figure out and measures it once for its files: the PNG is exactly
    what ``savefig(dpi=PNG_DPI, bbox_inches="tight")`` gives, the PDF has the same crop to
    within 1.5 pt, the preview is the PNG at half size, and the figure keeps its dpi and
    layout engine."""
    import re

    import numpy as np
    from PIL import Image

    def make():
        fig, (a, b) = plt.subplots(1, 2, figsize=size)
        a.plot([1, 2, 3], [3, 1, 2], label="a line")
        a.legend()
        a.set_xlabel(r"mode $i$")
        b.plot([0, 1], [1, 0])
        b.set_title("a title")
        notebook.fit_to_column(fig)
        return fig

    ref = make()
    ref.savefig(tmp_path / "ref.png", dpi=notebook.PNG_DPI, bbox_inches="tight")
    ref.savefig(tmp_path / "ref.pdf", bbox_inches="tight")
    plt.close(ref)
    shown = _capture_display(monkeypatch)
    fig = make()
    engine, dpi = type(fig.get_layout_engine()), fig.dpi
    png = notebook.show_figure(fig, "fig_same", caption="Same.")
    assert type(fig.get_layout_engine()) is engine and fig.dpi == dpi
    with Image.open(png) as got, Image.open(tmp_path / "ref.png") as want:
        assert got.size == want.size
        assert np.array_equal(np.asarray(got), np.asarray(want))
        half = ((got.size[0] + 1) // 2, (got.size[1] + 1) // 2)
    box = lambda p: [float(x) for x in re.search(rb"/MediaBox \[ *([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+)",
                                                 p.read_bytes()).groups()]
    # the PDF is cropped to the box measured with the PNG's font metrics (200 dpi), which can
    # differ from the PDF's own by about a point (0.35 mm) of margin
    assert np.allclose(box(png.with_suffix(".pdf")), box(tmp_path / "ref.pdf"), atol=1.5)
    import base64
    import io

    data = re.search(r'base64,([^"]+)"', shown[-1][0]["text/html"]).group(1)
    with Image.open(io.BytesIO(base64.b64decode(data))) as prev:
        assert prev.size == half
