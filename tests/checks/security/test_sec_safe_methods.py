"""SEC-086 against a running FastAPI application and its repository: a GET route whose handler
queues a Celery task (WARN at the route's URL, naming the call and its line) and a repository
whose GET handlers only read (PASS). The GET is never sent: it would queue the task."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from helpers import audit_target, describe, result
from servers.serving import serve_app

from prodaudit.model import Status

ACTING = '''from fastapi import FastAPI
from app.core.celery_app import celery_app

app = FastAPI()


@app.get("/api/v1/items")
async def items():
    return []


@app.get("/api/v1/task")
async def example_task():
    celery_app.send_task("app.tasks.example_task", args=["Hello World"])
    return {"message": "success"}


@app.post("/api/v1/jobs")
async def job():
    celery_app.send_task("app.tasks.job")
'''
READING = ACTING.split('@app.get("/api/v1/task")')[0]


def _run(tmp_path: Path, source: str, hits: list[str]) -> object:
    repo = tmp_path / "repo"
    (repo / "app").mkdir(parents=True)
    (repo / "app" / "main.py").write_text(source, encoding="utf-8")
    app = FastAPI()

    @app.get("/api/v1/task")
    def task() -> dict[str, str]:
        hits.append("task")
        return {"message": "success"}

    with serve_app(app) as url:
        run = audit_target(None, tmp_path, only=["SEC-086"], base_url=url, repo=repo)
    return result(run, "SEC-086")


def test_get_handler_that_queues_a_task_warns(tmp_path: Path) -> None:
    hits: list[str] = []
    r = _run(tmp_path, ACTING, hits)
    assert r.status is Status.WARN, describe(r)
    assert len(r.findings) == 1  # the POST that queues a job is no finding
    f = r.findings[0]
    assert f.location.startswith("GET http://127.0.0.1:") and f.location.endswith("/api/v1/task")
    assert "celery_app.send_task (line 14)" in f.message
    assert f.evidence.startswith("app/main.py:14: celery_app.send_task(...) in example_task()")
    assert hits == []  # never sent


def test_reading_get_handlers_pass(tmp_path: Path) -> None:
    r = _run(tmp_path, READING, [])
    assert r.status is Status.PASS, describe(r)
    assert "the handlers of 1 GET route(s) call nothing" in r.findings[0].message
