"""The GitHub workflow (.github/workflows/book.yml) and the Binder environment.

zizmor, the GitHub Actions security linter (pinned in requirements.txt), runs offline on the
workflows with its strictest persona and must report nothing; a deliberately bad workflow shows
that it does report. The rest checks what the publishing set-up promises: tests and build on
pull requests without deploying, the executed chapters restored from the last run, Pages
permissions only in the deploy job, a deploy in progress never cancelled, every action pinned
to a full commit SHA with its release tag in a comment, and the README's two commands.
"""
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
WORKFLOW = REPO / ".github/workflows/book.yml"


def _zizmor() -> str:
    exe = Path(sys.executable).with_name("zizmor")
    found = str(exe) if exe.is_file() else shutil.which("zizmor")
    assert found, "zizmor is not installed (it is pinned in requirements.txt)"
    return found


def _findings(path: Path) -> list:
    proc = subprocess.run([_zizmor(), "--offline", "--persona=auditor", "--format=json",
                           "--no-exit-codes", str(path)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _describe(findings) -> str:
    out = []
    for f in findings:
        loc = f["locations"][0]["concrete"]["location"]["start_point"]
        out.append(f"{f['ident']} ({f['determinations']['severity']}) line {loc['row'] + 1}: "
                   f"{f['desc']}")
    return "\n".join(out)


def test_zizmor_reports_nothing_on_the_workflows():
    findings = _findings(REPO / ".github/workflows")
    assert findings == [], "zizmor findings:\n" + _describe(findings)


def test_zizmor_does_report_a_bad_workflow(tmp_path):
    """The same call on a workflow with the original defects finds them (so the test above
    would fail if the workflow regressed)."""
    bad = tmp_path / ".github/workflows/bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text("on: push\npermissions: write-all\njobs:\n  b:\n    runs-on: ubuntu-latest\n"
                   "    steps:\n      - uses: actions/checkout@v4\n")
    idents = {f["ident"] for f in _findings(bad.parent)}
    assert {"unpinned-uses", "excessive-permissions", "artipacked"} <= idents


@pytest.fixture(scope="module")
def wf():
    data = yaml.safe_load(WORKFLOW.read_text())
    data["on"] = data.get("on", data.get(True))  # YAML 1.1 reads a bare `on` as True
    return data


def _steps(wf, job):
    return wf["jobs"][job]["steps"]


def test_runs_on_pull_requests_and_deploys_only_from_main(wf):
    assert "pull_request" in wf["on"] and wf["on"]["push"]["branches"] == ["main"]
    deploy = wf["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert "github.event_name != 'pull_request'" in deploy["if"]
    assert "github.ref == 'refs/heads/main'" in deploy["if"]
    upload = [s for s in _steps(wf, "build") if "upload-pages-artifact" in s.get("uses", "")]
    assert len(upload) == 1 and "github.event_name != 'pull_request'" in upload[0]["if"]


def test_pages_permissions_only_in_the_deploy_job(wf):
    assert wf["permissions"] == {}
    assert wf["jobs"]["build"]["permissions"] == {"contents": "read"}
    assert wf["jobs"]["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}


def test_a_deploy_in_progress_is_never_cancelled(wf):
    assert wf["jobs"]["deploy"]["concurrency"] == {"group": "pages",
                                                   "cancel-in-progress": False}
    # the workflow-level group cancels superseded runs everywhere but on main
    assert wf["concurrency"]["cancel-in-progress"] == "${{ github.ref != 'refs/heads/main' }}"


def test_every_action_is_pinned_to_a_commit_sha_with_its_tag():
    uses = re.findall(r"^\s*(?:- )?uses:\s*(\S+)(.*)$", WORKFLOW.read_text(), re.M)
    assert len(uses) >= 7
    for ref, comment in uses:
        action, _, sha = ref.partition("@")
        assert re.fullmatch(r"[0-9a-f]{40}", sha), f"{action} is not pinned to a SHA: {ref}"
        assert re.fullmatch(r"\s*# v\d+\.\d+\.\d+", comment), f"{action}: no '# vX.Y.Z' comment"


def test_checkout_does_not_persist_credentials(wf):
    for job in wf["jobs"]:
        for s in _steps(wf, job):
            if s.get("uses", "").startswith("actions/checkout@"):
                assert s["with"]["persist-credentials"] is False


def test_executed_chapters_are_restored_and_saved(wf):
    steps = _steps(wf, "build")
    names = [s.get("uses", "").split("@")[0] for s in steps]
    restore = steps[names.index("actions/cache/restore")]
    save = steps[names.index("actions/cache/save")]
    build = next(i for i, s in enumerate(steps) if "--profile paper" in s.get("run", ""))
    assert names.index("actions/cache/restore") < build < names.index("actions/cache/save")
    assert restore["with"]["path"] == save["with"]["path"] == "_build/chapters"
    # a new key per run, restored from the newest by prefix: the runner's own per-chapter
    # cache key decides what is executed again
    prefix = restore["with"]["restore-keys"].strip()
    assert restore["with"]["key"] == save["with"]["key"] == prefix + "${{ github.run_id }}"
    assert save["if"].startswith("always()")


def test_workflow_runs_the_readme_commands(wf):
    ci = [ln for ln in (REPO / ".ci/run").read_text().splitlines()
          if ln.strip() and not ln.startswith(("#", "set ", "cd "))]
    runs = [s.get("run", "") for s in _steps(wf, "build")]
    assert ci == [runs[[i for i, r in enumerate(runs) if "pytest" in r][0]]]
    assert ("python3 -m venv .venv && .venv/bin/pip install -r requirements.txt && "
            ".venv/bin/python -m twophase.book build --profile paper") in runs


def test_binder_uses_the_same_python_and_requirements_and_opens_md_as_notebooks():
    binder = REPO / "binder"
    assert (binder / "runtime.txt").read_text().strip() == "python-3.11"
    reqs = [ln for ln in (binder / "requirements.txt").read_text().splitlines()
            if ln.strip() and not ln.startswith("#")]
    assert reqs == ["-r ../requirements.txt"]
    overrides = json.loads((binder / "labconfig/default_setting_overrides.json").read_text())
    viewers = overrides["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]
    assert viewers["markdown"] == viewers["myst"] == "Jupytext Notebook"
    post = binder / "postBuild"
    assert post.stat().st_mode & 0o111, "postBuild must be executable"
    assert ".jupyter/labconfig" in post.read_text()
