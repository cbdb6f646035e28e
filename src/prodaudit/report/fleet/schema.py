"""The JSON Schema of the fleet's ``audit.json`` (``prodaudit/fleet/1``), from a pydantic
description of ``FleetRun.to_dict`` (a test keeps the two identical). Each service's ``run`` is
one audit's document (``audit.schema.json``), its results' ``doc`` moved to ``check_docs``.
Published as ``docs/schemas/fleet.schema.json`` by ``python -m prodaudit.report.schemas``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from prodaudit.report.schemas import BASE_URI, AuditDocument, Verdict


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JobDocument(_Doc):
    """One job's audit.json as the merge used it (or set aside, in ``superseded``)."""

    service: str
    suites: list[str] = Field(description="the suites the merge took from this audit")
    run_id: str
    source: str = Field(description="the audit.json the merge read")
    decision: str = Field(description="the job's own decision")
    finished_at: str


class MissingDocument(_Doc):
    """A planned service/suite audit no job delivered: its checks are ERROR results ("not
    verified") in the service's run."""

    service: str
    suite: str
    job: str = Field(description="the plan's job id (empty when the plan was recovered from the jobs)")
    reason: str


class Counts(_Doc):
    fail: int = Field(ge=0, description="requirements not met (unwaived FAIL)")
    unverified: int = Field(ge=0, description="not verified (unwaived SKIP or ERROR)")
    warn: int = Field(ge=0)
    waived: int = Field(ge=0)
    pass_: int = Field(ge=0, alias="pass")


class ServiceRunDocument(AuditDocument):
    """A service's merged audit: an audit.json (``audit.schema.json``) inside the fleet document."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={})


class ServiceDocument(_Doc):
    """One service: its decision, the counts behind it, its jobs, and its merged audit."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
    decision: Verdict
    exit_code: int = Field(ge=0, le=2)
    counts: Counts
    suites: list[str] = Field(description="the suites the plan audits for this service")
    repo: str = Field(description="the service's directory relative to the fleet's, as its jobs recorded it")
    jobs: list[JobDocument]
    missing: list[MissingDocument]
    run: ServiceRunDocument = Field(description="the service's merged audit (audit.schema.json)")


class FleetDocument(_Doc):
    """The fleet's audit.json: one launch decision for a product of several services."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"$id": BASE_URI + "fleet.schema.json"})

    schema_: Literal["prodaudit/fleet/1"] = Field(alias="schema")
    run_id: str
    decision: Verdict = Field(description="NO-GO when a service is NO-GO; never GO with a missing audit")
    exit_code: int = Field(ge=0, le=2)
    decision_reasons: list[str]
    tool_version: str = Field(description="the version of every job and of the merge")
    fleet_digest: str = Field(description="the configuration every job shared (docs/fleet.md)")
    config_file: str | None
    started_at: str
    finished_at: str
    services: list[ServiceDocument]
    superseded: list[JobDocument] = Field(description="older audits of the same job, not used")
    check_docs: dict[str, str] = Field(description="check id -> docstring (results carry an empty doc)")
    extras: dict[str, Any] = Field(description="merged_at, inputs, set_aside files, plan_jobs, baseline")


def fleet_schema() -> dict[str, Any]:
    schema = FleetDocument.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
