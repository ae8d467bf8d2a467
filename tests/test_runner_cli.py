"""The command line as a newcomer uses it (issue 10): `list CHAPTER`, `run -f`, `--help`, bad
values that name the parameter and its range, and no stale file after a failed run."""
import json
import subprocess
import sys

import pytest

from twophase.book.cli import main as cli

from runner_helpers import leftovers


def test_list_chapter_shows_a_parameter_table(fake_book, capsys):
    assert cli(["--root", str(fake_book), "list", "01_alpha"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].split() == ["name", "type", "quick", "paper", "meaning"]
    rows = {ln.split()[0]: ln for ln in out[3:] if ln and not ln.startswith("re-run")}
    assert set(rows) == {"n", "scale", "label", "flag", "values"}
    assert rows["n"].split()[:4] == ["n", "int", "3", "5"]
    assert rows["n"].endswith("number of points on the line, in [1, inf)")
    assert rows["scale"].split()[:4] == ["scale", "float", "1.5", "2"]
    assert rows["scale"].endswith("slope of the line")
    assert "[1, 2, 3]" in rows["values"] and rows["values"].split()[1] == "list"
    assert rows["label"].rstrip().endswith("paper run")   # no comment yet: empty meaning


def test_list_without_chapter_names_profiles_and_chapters(fake_book, capsys):
    assert cli(["--root", str(fake_book), "list"]) == 0
    out = capsys.readouterr().out
    assert "profiles: quick, paper" in out
    assert "01_alpha: 5 parameter(s): n, scale, label, flag, values" in out


def test_help_shows_examples_and_valid_choices(fake_book):
    for argv in (["--help"], ["run", "--help"], ["build", "--help"]):
        out = subprocess.run([sys.executable, "-m", "twophase.book", "--root", str(fake_book)]
                             + argv, capture_output=True, text=True, cwd=fake_book)
        assert out.returncode == 0, out.stderr
        assert "examples:" in out.stdout and "run 02_lookahead -p S 20" in out.stdout
        assert "chapters: 01_alpha, 02_beta" in out.stdout
        assert "profiles: quick, paper" in out.stdout
    assert "-f params.yaml" in out.stdout or "--timeout" in out.stdout


def test_run_takes_a_parameters_file_and_p_wins(fake_book, tmp_path, capsys):
    f = tmp_path / "params.yaml"
    f.write_text("n: 4\nscale: 0.5\nvalues: [7, 8]\nlabel: from file\n")
    out = tmp_path / "r"
    code = cli(["--root", str(fake_book), "run", "01_alpha", "-f", str(f), "-p", "n", "6",
                "--out", str(out), "--no-progress"])
    assert code == 0, capsys.readouterr()
    text = (out / "01_alpha.ipynb").read_text()
    assert "ALPHA n=6 scale=0.5 label='from file' flag=False values=[7, 8]" in text
    assert json.loads((out / "run.json").read_text())["parameters"]["n"] == 6


@pytest.mark.parametrize("content, expect", [
    ("m: 3\n", "unknown parameter 'm'"),
    ("n: three\n", "parameter 'n' (parameters file) must be int"),
    ("scale: .nan\n", "'scale' (parameters file) must be a finite float"),
    ("values: []\n", "'values' (parameters file) must be a non-empty list"),
    ("- 1\n- 2\n", "expected a mapping NAME: VALUE"),
    ("n: [\n", "not valid YAML"),
    (None, "cannot read the parameters file"),
])
def test_bad_parameters_file_exits_2(fake_book, tmp_path, capsys, content, expect):
    f = tmp_path / "params.yaml"
    if content is not None:
        f.write_text(content)
    assert cli(["--root", str(fake_book), "run", "01_alpha", "-f", str(f)]) == 2
    err = capsys.readouterr().err
    assert expect in err and "Traceback" not in err, err


@pytest.mark.parametrize("name, value, expect, absent", [
    ("n", "0", "parameter 'n' must be >= 1 (in [1, inf)); got 0", None),
    ("values", "1;2", "parameter 'values' expects a list of int like the parameters cell's"
     " [1, 2]; cannot parse '1;2'", "values[0]"),
    ("values", "[]", "parameter 'values' must be a non-empty list", None),
    ("values", "1,x", "parameter 'values' expects a list of int", "values[1]' expects"),
    ("scale", "nan", "parameter 'scale' must be a finite float (not nan or inf); got 'nan'", None),
    ("scale", "inf", "parameter 'scale' must be a finite float (not nan or inf); got 'inf'", None),
    ("scale", "1e999", "must be a finite float", None),   # overflows to inf
])
def test_bad_values_name_the_parameter_and_range(fake_book, capsys, name, value, expect, absent):
    assert cli(["--root", str(fake_book), "run", "01_alpha", "-p", name, value]) == 2
    err = capsys.readouterr().err
    assert expect in err, err
    if absent:
        assert absent not in err, err
    assert "holds 0" not in err and "has 0)" not in err


def test_seed_is_a_non_negative_integer_by_default():
    from twophase.book.sources import check_rule, parameter_rules
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("seed = 0\ntune_seed = 100\nseeds = 5\n",
                                              metadata={"tags": ["parameters"]}))
    rules = parameter_rules(nb)
    assert set(rules) == {"seed", "tune_seed"}
    with pytest.raises(ValueError, match=r"parameter 'seed' must be >= 0 \(in \[0, inf\)\); got -1"):
        check_rule("seed", -1, rules["seed"])
    check_rule("seed", 0, rules["seed"])


def test_rules_from_comments_intervals_and_choices():
    from twophase.book.sources import _parse_rule, check_rule

    r = _parse_rule("step size, in (0, 2]")
    check_rule("eta", 2.0, r)
    for bad in (0.0, 2.5):
        with pytest.raises(ValueError, match=r"'eta' must be > 0 and <= 2 \(in \(0, 2\]\)"):
            check_rule("eta", bad, r)
    with pytest.raises(ValueError, match=r"'etas\[1\]' must be > 0"):
        check_rule("etas", [0.5, -1.0], r)
    c = _parse_rule("moment equations, one of hd|exact")
    check_rule("form", "hd", c)
    with pytest.raises(ValueError, match="one of 'hd', 'exact'; got 'bogus'"):
        check_rule("form", "bogus", c)
    assert _parse_rule("a plain meaning") is None
    assert _parse_rule("") is None


def test_failed_run_leaves_no_stale_file_of_the_previous_run(fake_book, capsys, replay):
    out = fake_book / "_build/runs/02_beta"
    assert cli(["--root", str(fake_book), "run", "02_beta", "--no-progress"]) == 0
    assert (out / "claims.json").is_file() and (out / "paper_claims.json").is_file()
    assert (out / "02_beta.ipynb").is_file()
    (out / "my_notes.txt").write_text("mine")            # a user's own file is kept
    assert cli(["--root", str(fake_book), "run", "02_beta", "-p", "fail", "true",
                "--no-progress"]) == 1
    assert (out / "02_beta.failed.ipynb").is_file()
    for stale in ("02_beta.ipynb", "claims.json", "paper_claims.json"):
        assert not (out / stale).exists(), stale
    assert json.loads((out / "run.json").read_text())["status"] == "failed"
    assert (out / "my_notes.txt").read_text() == "mine"
    # and a good run after a failed one removes the failed notebook
    assert cli(["--root", str(fake_book), "run", "02_beta", "--no-progress"]) == 0
    assert not (out / "02_beta.failed.ipynb").exists() and (out / "claims.json").is_file()
    assert leftovers(fake_book) == []
