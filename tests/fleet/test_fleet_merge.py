"""``prodaudit merge`` on real job audits (a small static fleet, each job its own process): the
fleet decision, missing jobs, audits that do not belong together, re-runs, files set aside,
waivers and baselines per service, and ``prodaudit run`` without ``--service``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from fleet_helpers import (
    GOOD_DOCKERFILE,
    ROOT_DOCKERFILE,
    latest,
    plan_of,
    prodaudit,
    read_json,
    run_jobs_in_parallel,
    static_fleet,
    write,
)


def _merge(root: Path, *args: str) -> tuple[int, str, dict]:
    proc = prodaudit("merge", *args, cwd=root)
    doc = read_json(latest(root / "fleet") / "audit.json") if proc.returncode != 3 else {}
    return proc.returncode, proc.stdout + proc.stderr, doc


def _services(doc: dict) -> dict[str, dict]:
    return {s["name"]: s for s in doc["services"]}


def test_one_service_no_go_makes_the_fleet_no_go(tmp_path: Path) -> None:
    root = static_fleet(tmp_path, {"web": GOOD_DOCKERFILE, "api": ROOT_DOCKERFILE})
    plan = plan_of(root)
    assert [j["id"] for j in plan["jobs"]] == ["web.config", "api.config"]
    assert run_jobs_in_parallel(plan, root) == {"web.config": 0, "api.config": 1}
    code, out, doc = _merge(root, "prodaudit-reports", "--plan", "plan.json", "--output", "fleet")
    assert code == 1, out
    assert doc["decision"] == "NO-GO"
    s = _services(doc)
    assert s["web"]["decision"] == "GO" and s["api"]["decision"] == "NO-GO"
    assert s["api"]["counts"]["fail"] == 1 and s["web"]["counts"]["pass"] == 1
    assert doc["decision_reasons"][0].startswith("api: CFG-102 not met (high)")
    # --fail-on no-go does not soften a NO-GO
    code, _, _ = _merge(root, "prodaudit-reports", "--output", "fleet", "--fail-on", "no-go")
    assert code == 1


def test_a_missing_job_is_not_verified_and_the_fleet_is_never_go(tmp_path: Path) -> None:
    root = static_fleet(tmp_path, {"web": GOOD_DOCKERFILE, "admin": GOOD_DOCKERFILE})
    plan = plan_of(root)
    run_jobs_in_parallel(plan, root)
    code, out, doc = _merge(root, "prodaudit-reports", "--output", "fleet")
    assert code == 0 and doc["decision"] == "GO", out
    shutil.rmtree(root / "prodaudit-reports" / "admin.config")  # the job failed to run: no audit.json
    for args in ([], ["--plan", "plan.json"]):  # plan recovered from the jobs, or given
        code, out, doc = _merge(root, "prodaudit-reports", "--output", "fleet", *args)
        assert code == 2 and doc["decision"] == "CONDITIONAL GO", out
        admin = _services(doc)["admin"]
        assert admin["decision"] != "GO" and admin["jobs"] == []
        assert admin["missing"][0]["suite"] == "config"
        assert admin["missing"][0]["job"] == ("admin.config" if args else "")
        (result,) = admin["run"]["results"]
        assert result["id"] == "CFG-102" and result["status"] == "error"
        assert "wrote no audit.json" in result["reason"]
        assert "the config suite was not audited" in out and "A fleet job delivered no audit" in (
            latest(root / "fleet") / "production-readiness.md"
        ).read_text(encoding="utf-8")
    # the user's gate may let CONDITIONAL GO pass; the decision stays CONDITIONAL GO
    code, _, doc = _merge(root, "prodaudit-reports", "--output", "fleet", "--fail-on", "no-go")
    assert code == 0 and doc["decision"] == "CONDITIONAL GO"


def test_audits_that_do_not_belong_together_exit_3(tmp_path: Path) -> None:
    root = static_fleet(tmp_path, {"web": GOOD_DOCKERFILE, "api": GOOD_DOCKERFILE})
    plan = plan_of(root)
    run_jobs_in_parallel(plan, root)
    (api_json,) = (root / "prodaudit-reports" / "api.config").glob("2*/audit.json")
    original = api_json.read_text(encoding="utf-8")

    doc = json.loads(original)
    doc["tool_version"] = "0.0.1"
    api_json.write_text(json.dumps(doc), encoding="utf-8")
    code, out, _ = _merge(root, "prodaudit-reports", "--output", "fleet")
    assert code == 3 and "do not belong together: tool versions 0.0.1 (1 audit(s))" in out
    assert "api/config" in out and out.count("\n") == 1

    doc = json.loads(original)
    doc["extras"]["fleet"]["fleet_digest"] = "0123456789abcdef"
    api_json.write_text(json.dumps(doc), encoding="utf-8")
    code, out, _ = _merge(root, "prodaudit-reports", "--output", "fleet")
    assert code == 3 and "2 fleet configurations (config digests)" in out and "0123456789abcdef" in out
    code, out, _ = _merge(root, "prodaudit-reports", "--output", "fleet", "--plan", "plan.json")
    assert code == 3 and f"fleet digest {plan['fleet_digest']} in the plan" in out and "api/config" in out

    api_json.write_text(original, encoding="utf-8")
    narrowed = dict(plan, services={"web": plan["services"]["web"]})
    write(root / "narrow.json", json.dumps(narrowed))
    code, out, _ = _merge(root, "prodaudit-reports", "--output", "fleet", "--plan", "narrow.json")
    assert code == 3 and "audits that are not in the plan: api/config" in out
    assert not (root / "fleet").exists()  # nothing written by a merge that could not run


def test_reruns_supersede_and_stray_files_are_set_aside(tmp_path: Path) -> None:
    root = static_fleet(tmp_path, {"web": GOOD_DOCKERFILE})
    plan = plan_of(root)
    run_jobs_in_parallel(plan, root)
    run_jobs_in_parallel(plan, root)  # the job re-run: two audits of web/config
    runs = sorted(p.parent.name for p in (root / "prodaudit-reports" / "web.config").glob("2*/audit.json"))
    assert len(runs) == 2
    write(root / "prodaudit-reports" / "broken" / "audit.json", '{"schema": "prodaudit/audit/1", "resu')
    plain = prodaudit(
        "run",
        "--repo",
        "services/web",
        "--only",
        "CFG-102",
        "--output",
        "prodaudit-reports/plain",
        "-q",
        cwd=root,
    )
    assert plain.returncode == 0, plain.stderr
    code, out, doc = _merge(root, "prodaudit-reports", "--output", "fleet")
    assert code == 0, out
    web = _services(doc)["web"]
    assert [j["run_id"] for j in web["jobs"]] == [runs[1]]  # the newest
    assert [j["run_id"] for j in doc["superseded"]] == [runs[0]]
    aside = {
        Path(a["source"]).parent.name if "broken" in a["source"] else "plain": a["why"]
        for a in doc["extras"]["set_aside"]
    }
    assert (
        aside["broken"].startswith("unreadable")
        and aside["plain"] == "an audit of no fleet (run without --service)"
    )
    # a merge of nothing but stray files
    shutil.rmtree(root / "prodaudit-reports" / "web.config")
    code, out, _ = _merge(root, "prodaudit-reports", "--output", "fleet2")
    assert code == 3 and "no fleet job audit.json below prodaudit-reports" in out


def test_waivers_and_baselines_apply_per_service(tmp_path: Path) -> None:
    waiver = (
        '[[waiver]]\ncheck = "CFG-102"\nreason = "the platform drops root"\nowner = "ops@example.com"\n'
        "expires = 2099-12-31\n"
    )
    root = static_fleet(tmp_path, {"legacy": ROOT_DOCKERFILE, "api": ROOT_DOCKERFILE})
    write(root / "services" / "legacy" / "prodaudit-waivers.toml", waiver)
    plan = plan_of(root)
    run_jobs_in_parallel(plan, root)
    code, out, doc = _merge(root, "prodaudit-reports", "--output", "fleet")
    assert code == 1, out
    s = _services(doc)
    assert s["legacy"]["decision"] == "GO" and s["legacy"]["counts"]["waived"] == 1
    assert s["api"]["decision"] == "NO-GO"
    assert s["legacy"]["run"]["extras"]["waivers"]["applied"][0]["check"] == "CFG-102"
    assert s["api"]["run"]["extras"]["waivers"]["applied"] == []
    assert all(sv["run"]["extras"]["baseline"] is None for sv in doc["services"])
    # the next merge into the same output compares each service with its own part of the last one
    code, _, again = _merge(root, "prodaudit-reports", "--output", "fleet")
    base = _services(again)["api"]["run"]["extras"]["baseline"]
    assert base["still_failing"][0]["id"] == "CFG-102" and base["new"] == []
    assert base["file"].endswith("(service api)")
    legacy = _services(again)["legacy"]["run"]["extras"]["baseline"]
    assert legacy["file"].endswith("(service legacy)") and legacy["fixed"] == [] and legacy["new"] == []


def test_run_without_service_audits_every_service_in_one_process(tmp_path: Path) -> None:
    root = static_fleet(tmp_path, {"web": GOOD_DOCKERFILE, "api": ROOT_DOCKERFILE})
    proc = prodaudit("run", "--config", "prodaudit.toml", "--output", "out", "-q", cwd=root)
    assert proc.returncode == 1, proc.stderr
    assert "Fleet decision:  NO-GO" in proc.stdout
    out = latest(root / "out")
    doc = read_json(out / "audit.json")
    assert doc["schema"] == "prodaudit/fleet/1" and [s["name"] for s in doc["services"]] == ["web", "api"]
    assert {p.name for p in (root / "out" / "jobs").iterdir()} == {"web", "api"}
    for name in ("web", "api"):
        assert (out / "services" / name / "index.html").is_file()
    # `prodaudit report` re-renders the fleet's reports from its audit.json, byte for byte
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    (out / "production-readiness.md").unlink()
    again = prodaudit("report", str(out / "audit.json"), cwd=root)
    assert again.returncode == 0, again.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    # a job of the same fleet: one service, its own directory, no fleet report
    job = prodaudit(
        "run", "--config", "prodaudit.toml", "--service", "web", "--output", "job", "-q", cwd=root
    )
    assert job.returncode == 0, job.stderr
    (audit,) = (root / "job" / "web").glob("2*/audit.json")
    assert read_json(audit)["extras"]["fleet"]["service"] == "web"
    assert read_json(audit)["extras"]["fleet"]["fleet_digest"] == doc["fleet_digest"]
