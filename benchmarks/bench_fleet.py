"""Fleet merge at scale (docs/fleet.md, "A 500-service fleet"): measured, never asserted.

500 synthetic services (``PRODAUDIT_BENCH_FLEET`` to change it), each audited by one CI job per
suite. The jobs' audit.json files are cut from a real audit.json of the reference target
(``data/reference-audit.json.gz``: every suite, facts, ledger, source map; to refresh it, gzip the
``audit.json`` of ``prodaudit run`` on the reference target with the machine's paths replaced),
with each service's results varied (some checks failing or not verified, per service) and the
fleet record every job writes (the plan of all the services included). ``prodaudit merge`` then
runs in a process of its own, as the CI's merge job does: once writing only the fleet's
audit.json, once every report. Reported: wall and CPU time, the merge process's peak RSS, the
size of the jobs' artifacts and of the fleet report. ``python benchmarks/bench_fleet.py [N]``
prints the same table without pytest.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from prodaudit import __version__
from prodaudit.fleet.plan import Job, Plan
from prodaudit.fleet.services import encode_plan
from prodaudit.model import SUITES

N_SERVICES = int(os.environ.get("PRODAUDIT_BENCH_FLEET", "500"))
SEED = Path(__file__).parent / "data" / "reference-audit.json.gz"
DIGEST = "bench0000fleet00"
#: runs prodaudit's CLI and writes its own peak RSS (KiB) and CPU seconds to the file named first
_CHILD = (
    "import resource, sys\n"
    "from prodaudit.cli import main\n"
    "code = main(sys.argv[2:], standalone=False)\n"
    "u = resource.getrusage(resource.RUSAGE_SELF)\n"
    "open(sys.argv[1], 'w').write(f'{u.ru_maxrss} {u.ru_utime + u.ru_stime}')\n"
    "sys.exit(code)\n"
)


def seed() -> dict[str, Any]:
    return json.loads(gzip.decompress(SEED.read_bytes()))


def _vary(results: list[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    out = []
    for r in results:
        r = dict(r)
        roll = rng.random()
        if r["status"] == "pass" and roll < 0.04:
            r["status"] = "fail"
            r["findings"] = [{**(r["findings"] or [{}])[0], "status": "fail",
                              "message": f"{r['title']}: not met in this service"}]
        elif r["status"] == "pass" and roll < 0.08:
            r["status"], r["reason"], r["findings"] = "skip", "no --base-url given", []
        out.append(r)
    return out


def generate(root: Path, n: int = N_SERVICES) -> tuple[Path, Path]:
    """``root/jobs/<service>.<suite>/<run-id>/audit.json`` for every service and suite, and the
    plan (``root/plan.json``)."""
    base = seed()
    suites = [s for s in SUITES if any(r["suite"] == s for r in base["results"])]
    names = [f"svc{i:03d}" for i in range(n)]
    selection = {"suites": suites, "only": [], "skip": []}
    plan_record = encode_plan({name: selection for name in names})
    jobs_dir = root / "jobs"
    jobs: list[Job] = []
    for i, name in enumerate(names):
        rng = random.Random(i)
        for k, suite in enumerate(suites):
            job_id = f"{name}.{suite}"
            run_id = f"20261201T000000Z-{i:03d}{k}"
            doc = dict(base)
            doc.update(
                run_id=run_id, tool_version=__version__,
                results=_vary([r for r in base["results"] if r["suite"] == suite], rng),
                facts=base["facts"] if k == 0 else {},
                requests=base["requests"] if suite in ("functional", "security") else {},
                target={**base["target"], "suites": [suite]},
                extras={**base["extras"], "fleet": {
                    "fleet_digest": DIGEST, "service": name, "suites": [suite], "repo": f"services/{name}",
                    "config_file": "prodaudit.toml", "fail_on": None, "plan": plan_record}},
            )
            path = jobs_dir / job_id / run_id / "audit.json"
            path.parent.mkdir(parents=True)
            path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
            argv = ("prodaudit", "run", "--service", name, "--suite", suite)
            jobs.append(Job(job_id, ((name, (suite,)),), argv, "prodaudit-reports"))
    plan = Plan(DIGEST, __version__, "prodaudit.toml", {name: selection for name in names}, tuple(jobs))
    plan_path = root / "plan.json"
    plan_path.write_text(json.dumps(plan.to_dict()), encoding="utf-8")
    return jobs_dir, plan_path


def size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink()) / 1e6


def merge(jobs_dir: Path, plan: Path, out: Path, formats: str | None) -> dict[str, float]:
    """``prodaudit merge`` in its own process: wall and CPU seconds, peak RSS (MB), fleet report
    size (MB). CPU seconds are what the merge costs on a machine shared with other work."""
    rss = out.parent / f"{out.name}.rss"
    args = ["merge", str(jobs_dir), "--plan", str(plan), "--output", str(out), "-q"]
    if formats:
        args += ["--format", formats]
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(rss), *args], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1, 2):
        raise RuntimeError(proc.stderr[-2000:])
    latest = (out / "latest").resolve()
    # behaviour, not speed: the merge decided and wrote every service, or it measured nothing
    merged = sorted(p.name for p in (latest / "services").iterdir())
    expected = sorted(p.name.split(".")[0] for p in jobs_dir.iterdir())
    assert merged == sorted(set(expected)), f"{len(merged)} services merged of {len(set(expected))}"
    maxrss, cpu = rss.read_text().split()
    return {"seconds": round(seconds, 1), "cpu_seconds": round(float(cpu), 1),
            "peak_rss_mb": round(int(maxrss) / 1024, 1),
            "fleet_audit_json_mb": round((latest / "audit.json").stat().st_size / 1e6, 1),
            "report_dir_mb": round(size_mb(latest), 1)}


@pytest.fixture(scope="module")
def fleet_jobs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return generate(tmp_path_factory.mktemp("fleet"))


def bench_fleet_merge_audit_json_only(benchmark: Any, fleet_jobs: tuple[Path, Path], tmp_path: Path) -> None:
    """Read and check every job's audit.json, decide, write the fleet document (``--format json``)."""
    jobs_dir, plan = fleet_jobs
    info = benchmark.pedantic(
        lambda: merge(jobs_dir, plan, tmp_path / "json", "json"), rounds=1, iterations=1
    )
    benchmark.extra_info.update(info, services=N_SERVICES, jobs_mb=round(size_mb(jobs_dir), 1))


def bench_fleet_merge_every_report(benchmark: Any, fleet_jobs: tuple[Path, Path], tmp_path: Path) -> None:
    """The same merge writing every report: fleet files and each service's own reports."""
    jobs_dir, plan = fleet_jobs
    info = benchmark.pedantic(lambda: merge(jobs_dir, plan, tmp_path / "all", None), rounds=1, iterations=1)
    benchmark.extra_info.update(info, services=N_SERVICES)


def main(n: int) -> None:
    with tempfile.TemporaryDirectory(prefix="prodaudit-bench-fleet-") as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        jobs_dir, plan = generate(root, n)
        files = list(jobs_dir.rglob("audit.json"))
        jobs_mb = size_mb(jobs_dir)
        print(f"{n} services, {len(files)} job audits, {jobs_mb:.1f} MB of job artifacts "
              f"({jobs_mb / len(files) * 1000:.0f} kB per job), plan {plan.stat().st_size / 1e3:.0f} kB "
              f"(generated in {time.perf_counter() - start:.0f} s)")
        for label, formats in (("audit.json only", "json"), ("every report", None)):
            info = merge(jobs_dir, plan, root / label.split()[0], formats)
            print(f"merge, {label}: {info}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else N_SERVICES)
