"""docs/configuration-guide.md: every environment variable from the config suite's variable
graph (``facts["env_graph"]``, shape in docs/config.md): name, required, default, secret or not,
where it is read, where it is set, description from ``.env.example`` comments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prodaudit.guides._common import cell, header, problems, results_for
from prodaudit.model import AuditRun


def _variables(graph: Any) -> list[Mapping[str, Any]]:
    if isinstance(graph, Mapping):
        raw = graph.get("variables", [])
        if isinstance(raw, Mapping):  # name -> data
            return [{"name": k, **v} for k, v in raw.items() if isinstance(v, Mapping)]
        return [v for v in raw if isinstance(v, Mapping) and v.get("name")]
    return []


def _join(values: Any, limit: int = 4) -> str:
    if not values:
        return "—"
    vals = [str(v) for v in values] if isinstance(values, list | tuple) else [str(values)]
    shown = ", ".join(f"`{v}`" for v in vals[:limit])
    return shown + (f" +{len(vals) - limit}" if len(vals) > limit else "")


def _default(var: Mapping[str, Any]) -> str:
    if var.get("secret"):
        return "— (secret: no default shown)"
    d = var.get("default")
    return "—" if d is None else f"`{d}`" if d != "" else '`""`'


def configuration_guide(run: AuditRun) -> str:
    lines = header(run, "Configuration guide")
    graph = run.facts.get("env_graph")
    variables = sorted(_variables(graph), key=lambda v: str(v.get("name")))
    if not variables:
        lines += [
            "The last audit did not record the environment variable graph (the config suite's "
            "CFG-001 exports it as `facts.env_graph`). Run `invoke audit.config` (or "
            "`prodaudit run --suite config`) and then `invoke docs.build`.",
            "",
        ]
        return "\n".join(lines)
    required = [v for v in variables if v.get("required")]
    by_compose = [v for v in variables if not v.get("required") and v.get("compose_required")]
    secrets = [v for v in variables if v.get("secret")]
    examples = graph.get("example_files", []) if isinstance(graph, Mapping) else []
    lines += [
        f"{len(variables)} variables: {len(required)} required by the code, "
        f"{len(by_compose)} required by the compose file (`${{VAR:?}}`), {len(secrets)} secret. "
        "Required by the code means read without a default; secrets come from the "
        "environment or a secret store, never from the repository."
        + (f" Documented in {_join(examples)}." if examples else ""),
        "",
        "| Variable | Required | Default | Secret | Read at | Set in | Description |",
        "|---|---|---|---|---|---|---|",
    ]
    for v in variables:
        req = "**yes**" if v.get("required") else ("compose" if v.get("compose_required") else "no")
        lines.append(
            f"| `{cell(v.get('name'))}` | {req} | {cell(_default(v))} | "
            f"{'yes' if v.get('secret') else 'no'} | {cell(_join(v.get('read_at')))} | "
            f"{cell(_join(v.get('set_in')))} | {cell(v.get('description') or '—')} |"
        )
    lines.append("")
    undocumented = [str(v.get("name")) for v in variables if v.get("documented") is False]
    if undocumented:
        lines += [
            "## Not documented",
            "",
            "Read by the code but missing from `.env.example`: "
            + ", ".join(f"`{n}`" for n in undocumented)
            + ".",
            "",
        ]
    issues = problems(run, results_for(run, prefixes=("CFG-",)))
    if issues:
        lines += ["## Open configuration problems (last audit)", ""]
        lines += [f"- {p}" for p in issues]
        lines.append("")
    lines += [
        "## Secrets",
        "",
        "Generate each secret independently (`python -c 'import secrets; "
        "print(secrets.token_urlsafe(48))'`), store it in the deployment's secret store, "
        "and rotate it if it ever appeared in a repository, an image or a log.",
        "",
    ]
    return "\n".join(lines)
