"""Log-shipper configurations read for what they mean (issue 18): a Vector, Fluent Bit, Fluentd,
Promtail, Filebeat, OpenTelemetry Collector or Logstash file counts only when it has both an
input and an output; the shipper's own validator runs when it is installed (``vector validate``,
``fluent-bit --dry-run``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from prodaudit.checks.api import Context, InputError, load_toml, load_yaml
from prodaudit.checks.readiness._monitoring import validate

SHIPPERS = re.compile(
    r"(^|/)(vector\.(toml|ya?ml)|fluent-?bit\.(conf|ya?ml)|fluentd?\.conf|td-agent\.conf|"
    r"promtail[\w.-]*\.ya?ml|filebeat\.ya?ml|otel[\w.-]*collector[\w.-]*\.ya?ml|"
    r"logstash\.conf|datadog\.ya?ml|alloy[\w.-]*\.(alloy|river))$",
    re.I,
)


@dataclass(frozen=True)
class Shipper:
    rel: str
    kind: str
    problem: str  # '' when the file has an input and an output
    validated_by: str = ""  # the shipper's own tool, when it ran and accepted the file
    rejected: str = ""  # the tool's message when it refused the file


def _data(ctx: Context, rel: str) -> object:
    text = ctx.read(rel) or ""
    try:
        return load_toml(text, rel) if rel.endswith(".toml") else load_yaml(text, rel)
    except InputError:
        return None


def _sections(text: str) -> set[str]:
    return {m.lower() for m in re.findall(r"^\s*\[\s*([A-Za-z]+)\s*\]", text, re.M)}


def _judge(ctx: Context, rel: str) -> tuple[str, str]:
    """(kind, problem) of one shipper file; problem '' when input and output are configured."""
    name = rel.rsplit("/", 1)[-1].lower()
    text = ctx.read(rel) or ""
    if name.startswith("vector"):
        d = _data(ctx, rel)
        ok = isinstance(d, dict) and d.get("sources") and isinstance(d.get("sinks"), dict) and all(
            isinstance(s, dict) and s.get("inputs") for s in d["sinks"].values())
        return "vector", "" if ok else "no sources, or sinks without inputs"
    if name.startswith("fluent-bit") or name.startswith("fluentbit"):
        if name.endswith((".yml", ".yaml")):
            d = _data(ctx, rel)
            pipe = d.get("pipeline") if isinstance(d, dict) else None
            ok = isinstance(pipe, dict) and pipe.get("inputs") and pipe.get("outputs")
        else:
            ok = {"input", "output"} <= _sections(text)
        return "fluent-bit", "" if ok else "no [INPUT] and [OUTPUT]"
    if name.startswith(("fluentd", "fluent.conf", "td-agent")):
        ok = "<source>" in text and "<match" in text
        return "fluentd", "" if ok else "no <source> and <match>"
    if name.startswith("logstash"):
        ok = re.search(r"^\s*input\s*\{", text, re.M) and re.search(r"^\s*output\s*\{", text, re.M)
        return "logstash", "" if ok else "no input { } and output { }"
    if name.startswith("alloy"):
        ok = re.search(r"loki\.source|otelcol\.receiver", text) and re.search(
            r"loki\.write|otelcol\.exporter", text)
        return "alloy", "" if ok else "no log source and writer"
    d = _data(ctx, rel)
    if not isinstance(d, dict):
        return name.split(".")[0], "not a YAML mapping"
    if name.startswith("promtail"):
        ok = d.get("clients") and d.get("scrape_configs")
        return "promtail", "" if ok else "no clients and scrape_configs"
    if name.startswith("filebeat"):
        out = any(k.startswith("output.") for k in d) or isinstance(d.get("output"), dict)
        ok = (d.get("filebeat.inputs") or d.get("filebeat")) and out
        return "filebeat", "" if ok else "no inputs and output"
    if name.startswith("otel"):
        pipes = (d.get("service") or {}).get("pipelines") if isinstance(d.get("service"), dict) else None
        logs = [k for k in (pipes or {}) if str(k).startswith("logs")] if isinstance(pipes, dict) else []
        return "otel-collector", "" if logs else "no logs pipeline in service.pipelines"
    return "datadog", "" if d.get("logs_enabled") or d.get("logs_config") else "logs_enabled is not set"


def shippers(ctx: Context) -> list[Shipper]:
    """Every shipper configuration of the repository, judged; validated by its own tool when
    installed."""
    out: list[Shipper] = []
    for rel in ctx.files.files:
        if not SHIPPERS.search(rel) or "node_modules" in rel:
            continue
        kind, problem = _judge(ctx, rel)
        tool: tuple[str, list[str]] | None = None
        if kind == "vector":
            tool = ("vector", ["validate", "--no-environment"])
        elif kind == "fluent-bit":
            tool = ("fluent-bit", ["--dry-run", "-c"])
        if problem or tool is None:
            out.append(Shipper(rel, kind, problem))
            continue
        v = validate(ctx, tool[0], tool[1], rel=rel)
        if not v.tool:
            out.append(Shipper(rel, kind, problem))
        elif v.ok:
            out.append(Shipper(rel, kind, "", validated_by=tool[0]))
        else:
            out.append(Shipper(rel, kind, "", rejected=v.shown()[:800]))
    return out
