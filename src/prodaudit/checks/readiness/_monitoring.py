"""Monitoring as code, validated (issue 18): YAML documents of the repository, Prometheus rule
files checked by ``promtool``, Alertmanager configurations by ``amtool``, Grafana dashboards and
the metric names their queries use, and the metric names the live target exports at
``/metrics`` (one bounded scrape per run)."""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from prodaudit.checks.api import Context, InputError, load_json, load_yaml_all
from prodaudit.checks.readiness._scan import is_test_path, parts
from prodaudit.observe import Ran, child_env, find_tool, run_bounded

METRIC_CANDIDATES = ("/metrics", "/api/metrics", "/metrics/", "/prometheus")
#: series Prometheus makes itself, or that exporters other than the app provide
SYNTHETIC = frozenset({"up", "ALERTS", "ALERTS_FOR_STATE", "scrape_duration_seconds",
                       "scrape_samples_scraped", "scrape_series_added",
                       "scrape_samples_post_metric_relabeling", "time", "vector", "scalar"})
EXTERNAL_PREFIXES = ("probe_", "node_", "container_", "kube_", "pg_", "redis_", "nginx_",
                     "mysql_", "blackbox_", "process_", "go_", "prometheus_", "alertmanager_",
                     "traefik_", "haproxy_", "windows_", "cadvisor_", "machine_")
_PROMQL_WORDS = frozenset({
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
    "unless", "offset", "inf", "nan", "atan2", "start", "end",
})  # fmt: skip


def yaml_docs(ctx: Context) -> list[tuple[str, object]]:
    """Every YAML document of the repository outside tests and dependencies (bounded loader;
    unreadable files are left out)."""

    def build() -> list[tuple[str, object]]:
        out: list[tuple[str, object]] = []
        for rel in ctx.files.files:
            if not rel.endswith((".yml", ".yaml")) or "node_modules" in parts(rel) or is_test_path(rel):
                continue
            try:
                found = load_yaml_all(ctx.read(rel) or "", rel)
            except InputError:
                continue
            out += [(rel, d) for d in found if d is not None]
        return out

    return ctx.memo("rdy:yaml", build)


def rule_groups(doc: object) -> list[dict[str, object]] | None:
    """The ``groups`` of a Prometheus rule file or a ``PrometheusRule`` resource, else None."""
    if not isinstance(doc, dict):
        return None
    groups = doc.get("groups")
    spec = doc.get("spec")
    if groups is None and isinstance(spec, dict):
        groups = spec.get("groups")
    if not isinstance(groups, list):
        return None
    return [g for g in groups if isinstance(g, dict)]


def alert_rules(ctx: Context) -> list[tuple[str, dict[str, object]]]:
    rules: list[tuple[str, dict[str, object]]] = []
    for rel, doc in yaml_docs(ctx):
        for g in rule_groups(doc) or []:
            rules += [(rel, r) for r in group_rules(g) if "alert" in r]
    return rules


def group_rules(group: dict[str, object]) -> list[dict[str, object]]:
    items = group.get("rules")
    return [r for r in items if isinstance(r, dict)] if isinstance(items, list) else []


def is_alertmanager(doc: object) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("receivers"), list) and "route" in doc


# ---- external validators -----------------------------------------------------------------
@dataclass(frozen=True)
class Validation:
    tool: str  # "promtool" ...; "" when the tool is not installed
    ran: Ran | None = None
    repo: str = ""  # stripped from what is shown

    def shown(self) -> str:
        """``$ command`` and the tool's own words, paths relative to the repository."""
        assert self.ran is not None
        return f"$ {self.ran.command}\n{tool_message(self)}".replace(self.repo + "/", "")

    @property
    def ok(self) -> bool:
        return self.ran is not None and self.ran.ok


def validate(ctx: Context, tool: str, args: list[str], document: object | None = None,
             rel: str = "") -> Validation:
    """Run ``tool args... FILE`` on the repository file ``rel`` (or on ``document`` written to
    a temporary file, e.g. the rule groups of a ``PrometheusRule``), bounded in time."""
    exe = find_tool(tool)
    if exe is None:
        return Validation("")
    timeout = ctx.cfg.readiness.tool_timeout_seconds
    with tempfile.TemporaryDirectory(prefix="prodaudit-validate-") as tmp:
        if document is not None:
            path = Path(tmp) / (Path(rel).stem + ".yml")
            path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        else:
            path = ctx.repo / rel
        ran = run_bounded([exe, *args, path], cwd=Path(tmp), timeout=timeout, env=child_env())
    return Validation(tool, ran, str(ctx.repo))


def tool_message(v: Validation) -> str:
    """promtool's/amtool's own words, without the temporary path."""
    assert v.ran is not None
    if v.ran.timed_out:
        return f"{v.tool} did not finish in time"
    if v.ran.error:
        return v.ran.error
    text = re.sub(r"\S*/prodaudit-validate-\w+/", "", v.ran.tail(1200))
    return text.strip()


# ---- metric names --------------------------------------------------------------------------
def promql_metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects (functions, keywords, label matchers, ranges,
    grouping clauses and strings removed). A best-effort parse: it never executes anything."""
    text = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'', '""', expr)
    names = set(re.findall(r'__name__\s*=\s*"([A-Za-z_:][\w:]*)"', expr))
    text = re.sub(r"\{[^{}]*\}", " ", text)
    text = re.sub(r"\[[^\[\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", " ", text)
    text = re.sub(r"\$\{?\w+\}?", " ", text)  # Grafana variables ($__rate_interval ...)
    for m in re.finditer(r"(?<![\w:.])([A-Za-z_:][\w:]*)(?=\s*(\(?))", text):
        word = m.group(1)
        if m.group(2) == "(" or word.lower() in _PROMQL_WORDS or re.fullmatch(r"\d\w*", word):
            continue
        names.add(word)
    return names


@dataclass
class Exported:
    """The metric sample names the live target exports, from one scrape."""

    url: str = ""
    names: set[str] = field(default_factory=set)
    families: dict[str, str] = field(default_factory=dict)  # family -> type
    reason: str = ""  # why there is nothing (no live target, no endpoint)

    def knows(self, name: str) -> bool:
        """Exported as a series, or declared as a family (a labelled metric has no series before
        its first observation: ``# TYPE x histogram`` alone still declares ``x_bucket``)."""
        if name in self.names or name in self.families:
            return True
        base = re.sub(r"_(bucket|sum|count|total|created|info)$", "", name)
        return base in self.families or f"{base}_total" in self.families

    @staticmethod
    def external(name: str) -> bool:
        return name in SYNTHETIC or name.startswith(EXTERNAL_PREFIXES)


async def exported_metrics(ctx: Context) -> Exported:
    """Scrape the live target's metrics once per run (``readiness.metrics_path`` or the usual
    paths; at most four GETs, each bounded by the audit's request timeout and body cap)."""

    async def build() -> Exported:
        reason = await ctx.need_live()
        if reason:
            return Exported(reason=reason)
        configured = ctx.cfg.readiness.metrics_path
        paths = [configured] if configured else list(METRIC_CANDIDATES)
        for path in paths:
            ex = await ctx.http.get(ctx.url(path))
            if ex.status == 200 and re.search(r"^# (TYPE|HELP) ", ex.text, re.M):
                families = dict(re.findall(r"^# TYPE (\S+) (\w+)", ex.text, re.M))
                names = set(re.findall(r"^([A-Za-z_:][\w:]*)(?=[{\s])", ex.text, re.M))
                return Exported(url=ex.url, names=names, families=families)
        return Exported(reason=f"no Prometheus metrics at {', '.join(paths)} of {ctx.cfg.base_url}")

    result: Exported = await ctx.amemo("rdy:exported-metrics", build)
    return result


# ---- dashboards ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Panel:
    title: str
    queries: tuple[str, ...]


@dataclass(frozen=True)
class Dashboard:
    rel: str
    title: str
    panels: tuple[Panel, ...]


def _panels(items: object) -> list[Panel]:
    out: list[Panel] = []
    for p in items if isinstance(items, list) else []:
        if not isinstance(p, dict):
            continue
        out += _panels(p.get("panels"))  # rows hold their panels when collapsed
        targets = p.get("targets")
        queries = tuple(
            str(t.get("expr") or t.get("query") or "")
            for t in (targets if isinstance(targets, list) else [])
            if isinstance(t, dict) and (t.get("expr") or t.get("query"))
        )
        if p.get("type") != "row" or queries:
            out.append(Panel(str(p.get("title") or p.get("type") or "untitled"), queries))
    return out


def dashboards(ctx: Context) -> list[Dashboard]:
    """Grafana dashboard JSON files (an object with ``panels``, or ``dashboard.panels``; old
    ``rows[].panels`` too)."""
    out: list[Dashboard] = []
    for rel in ctx.files.files:
        if not rel.endswith(".json") or "node_modules" in parts(rel) or is_test_path(rel):
            continue
        text = ctx.read(rel) or ""
        if '"panels"' not in text[:2_000_000]:
            continue
        try:
            data = load_json(text, rel)
        except InputError:
            continue
        dash = data.get("dashboard", data) if isinstance(data, dict) else None
        if not isinstance(dash, dict) or not any(isinstance(dash.get(k), list) for k in ("panels", "rows")):
            continue
        panels = _panels(dash.get("panels"))
        for row in dash.get("rows") or [] if isinstance(dash.get("rows"), list) else []:
            panels += _panels(row.get("panels") if isinstance(row, dict) else None)
        out.append(Dashboard(rel, str(dash.get("title") or rel), tuple(panels)))
    return out
