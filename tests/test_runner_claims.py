"""The papers' claims (issue 11): registry, `_build/paper_claims.json`, the claims page, the
intro summary and the report's links; and a plain `jupyter-book build .` keeping each chapter's
claims and figures apart (issue 9). All on the fake book, whose registry has two ids."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from twophase.book.cli import main as cli

from runner_helpers import read_json, runner, set_profile

REPO = Path(__file__).resolve().parents[1]


def add_registry_ids(root, *ids, enforce=None):
    path = root / "book/paper_claims.yml"
    data = yaml.safe_load(path.read_text())
    data["claims"] += [{"id": i, "paper": "fake2026", "claim": f"Claim {i}."} for i in ids]
    if enforce is not None:
        data["enforce"] = enforce
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_claims_page_intro_summary_and_report_links(html_fake_book):
    """The claims page, the intro's summary and the report's links of a default build (the
    fixture checks that the build passed)."""
    fake_book = html_fake_book
    records = read_json(fake_book / "_build/paper_claims.json")
    assert [(x["id"], x["verdict"], x["chapter"], x["evidence"]) for x in records] == [
        ("FAKE-alpha", "reproduced", "01_alpha", "alpha-evidence"),
        ("FAKE-beta", "reproduced under conditions", "02_beta", "beta-evidence")]
    assert records[0]["conditions"] == "total = 4.5 with $n = 3$"
    assert records[0]["checks"] == ["alpha-total-positive"]
    html = fake_book / "_build/html/book"
    page = (html / "claims.html").read_text()
    # a real table with the five columns, verdicts computed, links to evidence and checks
    heads = re.findall(r'<th class="head[^"]*"><p>([^<]*)</p></th>', page)
    assert heads[-5:] == ["id", "the paper’s claim", "verdict", "conditions", "evidence"]
    assert '<td><p><span id="paper-claim-fake-alpha"></span>FAKE-alpha</p></td>' in page
    assert "The total of alpha is positive." in page
    assert 'href="01_alpha.html#alpha-evidence"' in page
    assert 'href="02_beta.html#beta-evidence"' in page
    assert 'href="report.html#check-01_alpha-alpha-total-positive"' in page
    assert 'href="bibliography.html' in page                      # the paper is cited
    assert '<span class="math notranslate nohighlight">\\(n = 3\\)</span>' in page
    report = (html / "report.html").read_text()
    assert 'id="check-01_alpha-alpha-total-positive"' in report   # the anchor exists
    assert 'id="check-02_beta-beta-claim"' in report
    assert 'href="01_alpha.html"' in report and 'href="02_beta.html"' in report
    assert 'href="claims.html"' in report
    # ... and every paper claim, to its row on the claims page
    assert 'href="claims.html#paper-claim-fake-alpha"' in report
    assert 'href="claims.html#paper-claim-fake-beta"' in report
    assert 'id="paper-claim-fake-alpha"' in page
    # the report's chapter table has four columns (fits the column)
    assert re.search(r"<th[^>]*><p>chapter</p></th>\s*<th[^>]*><p>status</p></th>\s*"
                     r"<th[^>]*><p>seconds</p></th>\s*<th[^>]*><p>claims \(passed / failed\)"
                     r"</p></th>\s*</tr>", report)
    intro = (html / "intro.html").read_text()
    assert "twophase:claims-summary" not in (fake_book / "_build/site/book/intro.md").read_text()
    assert re.search(r"<td><p>reproduced</p></td>\s*<td[^>]*><p>1</p></td>", intro)
    assert "FAKE-beta: <strong>reproduced under conditions</strong>" in intro
    assert 'href="claims.html"' in intro
    # the claims page comes right after the intro
    toc = yaml.safe_load((fake_book / "_build/site/_toc.yml").read_text())
    assert toc["root"] == "book/intro" and toc["parts"][0]["chapters"][0]["file"] == "book/claims"


def test_untested_registry_id_fails_a_full_build(fake_book, capsys, replay):
    add_registry_ids(fake_book, "FAKE-gamma", "FAKE-delta")
    code = cli(["--root", str(fake_book), "build", "--no-html", "--no-progress", "-j", "1"])
    out = capsys.readouterr().out
    assert code == 1
    assert ("2 paper claim(s) of paper_claims.yml not tested by any chapter:"
            " FAKE-gamma, FAKE-delta") in out
    records = {x["id"]: x for x in read_json(fake_book / "_build/paper_claims.json")}
    assert records["FAKE-gamma"]["verdict"] == "not tested"
    assert records["FAKE-gamma"]["chapter"] is None
    report = read_json(fake_book / "_build/report.json")
    assert any("FAKE-gamma" in p for p in report["claims_problems"])


def test_enforce_false_lists_untested_ids_without_failing(fake_book, capsys, replay):
    add_registry_ids(fake_book, "FAKE-gamma", enforce=False)
    code = cli(["--root", str(fake_book), "build", "--no-progress", "-j", "1"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "not enforced" in out
    page = (fake_book / "_build/html/book/claims.html").read_text()
    assert "FAKE-gamma</p></td>" in page and "<strong>not tested</strong>" in page


def test_partial_build_does_not_fail_for_chapters_it_left_out(fake_book, capsys, replay):
    """`--only 01_alpha` on a fresh build folder: 02_beta's claim cannot be decided, which is
    reported (as not tested in this build) but is not a failure; the full build decides it."""
    code = cli(["--root", str(fake_book), "build", "--only", "01_alpha", "--no-html",
                "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "partial build" in out
    beta = {x["id"]: x for x in read_json(fake_book / "_build/paper_claims.json")}["FAKE-beta"]
    assert beta["verdict"] == "not tested" and "left out: 02_beta" in beta["conditions"]
    # a chapter reused from the cache counts as included
    assert cli(["--root", str(fake_book), "build", "--no-html", "--no-progress"]) == 0
    capsys.readouterr()
    add_registry_ids(fake_book, "FAKE-gamma")
    assert cli(["--root", str(fake_book), "build", "--only", "01_alpha", "--no-html",
                "--no-progress"]) == 1   # every chapter is in this build: gamma is untested


def test_id_not_in_registry_fails_even_when_not_enforced(fake_book, capsys, replay):
    path = fake_book / "book/paper_claims.yml"
    path.write_text(path.read_text().replace("enforce: true", "enforce: false"))
    set_profile(fake_book, "02_beta", paper_id="FAKE-typo")
    code = cli(["--root", str(fake_book), "build", "--no-html", "--no-progress", "-j", "1"])
    out = capsys.readouterr().out
    assert code == 1
    assert "chapter 02_beta records paper claim 'FAKE-typo', which is not in paper_claims.yml" in out


def test_no_registry_still_writes_paper_claims_json(fake_book, replay):
    (fake_book / "book/paper_claims.yml").unlink()
    res = runner(fake_book).build("quick", html=False, jobs=1)
    assert res.ok
    ids = [x["id"] for x in read_json(fake_book / "_build/paper_claims.json")]
    assert ids == ["FAKE-alpha", "FAKE-beta"]


@pytest.mark.parametrize("text, expect", [
    ("claims: 5\n", "expected a mapping with a list `claims:`"),
    ("enforce: maybe\nclaims: []\n", "`enforce` must be true or false"),
    ("claims:\n  - {id: A, paper: fake2026, claim: x}\n  - {id: A, paper: fake2026, claim: y}\n",
     "duplicate id 'A'"),
    ("claims:\n  - {id: A, paper: nosuchkey, claim: x}\n", "is not a key of"),
    ("claims:\n  - {id: A, paper: fake2026}\n", "`claim` must be a non-empty string"),
])
def test_bad_registry_is_a_usage_error(fake_book, capsys, text, expect):
    (fake_book / "book/paper_claims.yml").write_text(text)
    assert cli(["--root", str(fake_book), "build", "--no-html"]) == 2
    assert expect in capsys.readouterr().err


def test_real_registry_lists_every_claim_id_of_issue_11():
    from twophase.book.claims import Registry

    reg = Registry.load(REPO / "book/paper_claims.yml", REPO / "book/references.bib")
    part1 = ["I-abstract-la-tradeoff", "I-abstract-workers-noise", "I-abstract-noise-fixable",
             "I-abstract-stacking-accelerates", "I-abstract-nesterov-best",
             "I-fig1-eta-star-decreases", "I-fig1-spiked-best-nu-above-1",
             "I-fig1-power-best-nu-below-1", "I-fig2-theory-matches-simulation",
             "I-fig2-fixed-rule-similar-small-eta", "I-fig2-fixed-rule-large-R-diverges-early",
             "I-fig2-sqrt-rule-better", "I-fig2-sqrt-rule-nonuniversal-large-eta",
             "I-fig3-hb-rate-worsens-with-S", "I-fig3-nesterov-faster",
             "I-fig3-critical-nu-S-invariant", "I-fig3-reduced-like-full-large-S",
             "I-fig3-reduced-better-small-S", "I-thm31-eigenvalues-increase-with-R"]
    part2 = ["II-method", "II-unified-scaling", "II-identical-and-heterogeneous", "II-nn-speedup"]
    part3 = ["III-scaling-speeds-up", "III-workers-noise-with-scaling"]  # chapter 8 (issue 13)
    assert reg.ids == part1 + part2 + part3
    papers = {c["id"]: c["paper"] for c in reg.claims}
    assert {papers[i] for i in part1} == {"agarwala2026twophase"}
    assert {papers[i] for i in part2} == {"chezhegov2024local"}
    assert isinstance(reg.enforce, bool)


def test_real_toc_puts_the_claims_page_right_after_the_intro():
    from twophase.book.sources import read_toc

    entries = read_toc(REPO)
    assert [e.docname for e in entries[:2]] == ["book/intro", "book/claims"]
    from twophase.book.claims import SUMMARY_MARKER

    assert SUMMARY_MARKER in (REPO / "book/intro.md").read_text()


# -- a plain `jupyter-book build .` ------------------------------------------------------------

def test_plain_jupyter_book_build_keeps_chapters_apart(fake_book):
    """myst-nb executes the chapters itself; with the book's Sphinx extension each chapter's
    claims, paper claims and figures land in `_build/interactive/<chapter>/` with the real
    chapter name as provenance (not one shared `claims.json` of chapter "interactive")."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("TWOPHASE_") and k != "JPY_SESSION_NAME"}
    jb = ("import sys; from jupyter_book.cli.main import main; sys.argv[0] = 'jupyter-book';"
          " sys.exit(main())")
    proc = subprocess.run([sys.executable, "-c", jb, "build", ".", "--all"], cwd=fake_book,
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    inter = fake_book / "_build/interactive"
    assert not (inter / "claims.json").exists()
    alpha = read_json(inter / "01_alpha/claims.json")
    beta = read_json(inter / "02_beta/claims.json")
    assert [(c["chapter"], c["key"]) for c in alpha] == [("01_alpha", "alpha-total-positive")]
    assert [(c["chapter"], c["key"]) for c in beta] == [("02_beta", "beta-claim")]
    assert read_json(inter / "02_beta/paper_claims.json")[0]["chapter"] == "02_beta"
    prov = read_json(inter / "01_alpha/figures/line.json")
    assert prov["chapter"] == "01_alpha"
    page = (fake_book / "_build/html/book/01_alpha.html").read_text()
    # the figure's provenance on the page names the real chapter
    assert re.search(r"Chapter <code[^>]*><span[^>]*>01_alpha</span></code>", page), \
        re.findall(r"Chapter <code.{0,80}", page)
