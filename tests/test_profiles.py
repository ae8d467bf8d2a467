"""book/profiles.yml: format, validation, and agreement with every chapter's parameters cell."""
from pathlib import Path

import pytest
import yaml

from twophase.book import BookError, Profiles, Runner
from twophase.book.sources import check_value, parse_value, read_parameters, read_toc

REPO = Path(__file__).resolve().parents[1]


def _toc_chapters():
    return [e for e in read_toc(REPO) if e.kind in ("chapter", "missing")]


def test_profiles_file_is_valid_for_the_real_toc():
    chapters = [e.name for e in _toc_chapters()]
    prof = Profiles(REPO / "book" / "profiles.yml", chapters)
    assert set(prof.names) == {"quick", "paper"}
    assert set(prof.data) == set(chapters)


@pytest.mark.parametrize("entry", _toc_chapters(), ids=lambda e: e.name)
@pytest.mark.parametrize("profile", ["quick", "paper"])
def test_every_chapter_profile_matches_its_parameters_cell(entry, profile):
    if entry.kind == "missing":
        pytest.skip(f"{entry.source.name} not written yet")
    prof = Profiles(REPO / "book" / "profiles.yml", [e.name for e in _toc_chapters()])
    cell = read_parameters(entry.source)
    raw = prof.raw(entry.name, profile)
    if not cell and not raw:
        pytest.skip(f"{entry.name}: no parameters yet")
    assert list(raw) and set(raw) == set(cell), (
        f"{entry.name}.{profile}: profiles.yml names {sorted(raw)} != parameters cell names"
        f" {sorted(cell)}")
    prof.resolve(entry.name, profile, cell)  # types agree too


@pytest.mark.parametrize("entry", _toc_chapters(), ids=lambda e: e.name)
def test_quick_profile_equals_parameters_cell_values(entry):
    """The parameters cell holds the quick values, so a chapter run by hand is the quick run."""
    if entry.kind == "missing":
        pytest.skip(f"{entry.source.name} not written yet")
    prof = Profiles(REPO / "book" / "profiles.yml", [e.name for e in _toc_chapters()])
    cell = read_parameters(entry.source)
    if not cell:
        pytest.skip("no parameters")
    assert prof.resolve(entry.name, "quick", cell) == {
        k: check_value(k, v, v) for k, v in cell.items()}


def _write(tmp_path, data):
    p = tmp_path / "profiles.yml"
    p.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return p


def test_format_errors(tmp_path):
    with pytest.raises(BookError, match="chapters"):
        Profiles(_write(tmp_path, {"a": {}}), ["01_a"])
    with pytest.raises(BookError, match="unknown chapter '09_z'.*01_a"):
        Profiles(_write(tmp_path, {"chapters": {"01_a": {"quick": {}, "paper": {}},
                                                "09_z": {"quick": {}, "paper": {}}}}), ["01_a"])
    with pytest.raises(BookError, match="no block for chapter.*02_b"):
        Profiles(_write(tmp_path, {"chapters": {"01_a": {"quick": {}, "paper": {}}}}),
                 ["01_a", "02_b"])
    with pytest.raises(BookError, match="every chapter must have"):
        Profiles(_write(tmp_path, {"chapters": {"01_a": {"quick": {}, "paper": {}},
                                                "02_b": {"quick": {}}}}), ["01_a", "02_b"])
    with pytest.raises(BookError, match="must be an int, float, bool, str or list"):
        Profiles(_write(tmp_path, {"chapters": {"01_a": {"quick": {"x": {"y": 1}},
                                                         "paper": {}}}}), ["01_a"])
    with pytest.raises(BookError, match="not valid YAML"):
        Profiles(_write(tmp_path, "chapters: [unclosed"), ["01_a"])
    with pytest.raises(BookError, match="missing profiles file"):
        Profiles(tmp_path / "nope.yml", ["01_a"])


def test_resolve_checks_names_and_types(tmp_path):
    p = Profiles(_write(tmp_path, {"chapters": {"01_a": {
        "quick": {"n": 1, "eta": 1, "ok": True, "name": "x", "xs": [1, 2]},
        "paper": {"n": 1.5, "eta": 0.1, "ok": True, "name": "x", "xs": [1]}}}}), ["01_a"])
    cell = {"n": 2, "eta": 0.5, "ok": False, "name": "y", "xs": [3]}
    got = p.resolve("01_a", "quick", cell)
    assert got == {"n": 1, "eta": 1.0, "ok": True, "name": "x", "xs": [1, 2]}
    assert isinstance(got["eta"], float)
    with pytest.raises(BookError, match="'n'.*must be int"):
        p.resolve("01_a", "paper", cell)
    with pytest.raises(BookError, match=r"missing \['extra'\]"):
        p.resolve("01_a", "quick", dict(cell, extra=1))
    with pytest.raises(BookError, match="unknown profile 'fast'; valid profiles: quick, paper"):
        p.raw("01_a", "fast")


@pytest.mark.parametrize("default, text, expected", [
    (3, "20", 20), (3, "-4", -4), (0.5, "1e-3", 1e-3), (0.5, "2", 2.0),
    (True, "false", False), (False, "Yes", True), (False, "1", True),
    ("a", "hello world", "hello world"), ([1, 2], "[3, 4]", [3, 4]), ([1, 2], "5,6", [5, 6]),
    ([0.5], "1, 2.5", [1.0, 2.5]), (["a"], "['x', 'y']", ["x", "y"]), ([], "[1, 'a']", [1, "a"]),
])
def test_parse_value(default, text, expected):
    got = parse_value("p", text, default)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize("default, text", [
    (3, "2.5"), (3, "x"), (0.5, "fast"), (0.5, "nan"), (True, "maybe"), ([1], "[1, 'a']"),
    ([1], "a,b"),
])
def test_parse_value_rejects(default, text):
    with pytest.raises(BookError, match="'p"):
        parse_value("p", text, default)


def test_check_value_rejects_bool_for_int_and_float():
    with pytest.raises(BookError):
        check_value("n", True, 3)
    with pytest.raises(BookError):
        check_value("x", False, 0.5)
    with pytest.raises(BookError):
        check_value("s", 3, "3")


def test_parameters_cell_must_be_plain_assignments(tmp_path):
    src = tmp_path / "c.md"
    head = ("---\njupytext:\n  text_representation: {extension: .md, format_name: myst}\n"
            "kernelspec: {display_name: Python 3, language: python, name: python3}\n---\n\n")
    src.write_text(head + "```{code-cell} ipython3\n:tags: [parameters]\n\nn = 3  # steps\n"
                   "xs = [1, -2]\n```\n")
    assert read_parameters(src) == {"n": 3, "xs": [1, -2]}
    src.write_text(head + "```{code-cell} ipython3\n:tags: [parameters]\n\nn = f(3)\n```\n")
    with pytest.raises(BookError, match="'n' is not a literal"):
        read_parameters(src)
    src.write_text(head + "```{code-cell} ipython3\n:tags: [parameters]\n\nimport os\n```\n")
    with pytest.raises(BookError, match="plain assignments"):
        read_parameters(src)


def test_runner_lists_toc_chapters():
    r = Runner(root=REPO)
    assert r.chapter_names() == [e.name for e in _toc_chapters()]
    with pytest.raises(BookError, match="unknown chapter 'nope'; valid chapters: 01_sgd"):
        r.entry("nope")
