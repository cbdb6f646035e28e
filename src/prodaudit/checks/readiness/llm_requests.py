"""RDY-018 and RDY-019: the request models of LLM endpoints, read statically — who may set a
message's role, and whether the prompt is bounded."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass

from prodaudit.checks.api import (
    Context,
    Evidence,
    Finding,
    Severity,
    Skip,
    check,
    failed,
    passed,
    warned,
)
from prodaudit.checks.readiness._scan import PyModule, call_name
from prodaudit.checks.readiness._taint import code_modules, handler_params, is_handler
from prodaudit.product.llm_calls import llm_reach, reaches_llm

_LLM_CALL = re.compile(r"(chat\.completions|completions|messages|responses)\.(create|stream)$|"
                       r"ChatCompletion\.a?create$|generate_content|\.a?invoke$|\.astream$|"
                       r"ollama\.chat$|litellm\.a?completion$")
_TEXT_FIELD = re.compile(r"^(content|prompt|message|messages|text|query|question|input|"
                         r"history|conversation|context)$")
_BOUND = re.compile(r"max_length|max_items|maxItems|conlist|constr|Len\(|MaxLen|le=")


@dataclass(frozen=True)
class _Field:
    model: str
    name: str
    annotation: str
    text: str  # the whole declaration
    location: str


def _models(mods: list[PyModule]) -> dict[str, list[_Field]]:
    out: dict[str, list[_Field]] = {}
    for m in mods:
        for cls in (n for n in ast.walk(m.tree) if isinstance(n, ast.ClassDef)):
            fields = [
                _Field(cls.name, st.target.id, ast.unparse(st.annotation), ast.unparse(st),
                       m.line(st))
                for st in cls.body
                if isinstance(st, ast.AnnAssign) and isinstance(st.target, ast.Name)
            ]
            if fields:
                out.setdefault(cls.name, fields)
    return out


# the server's own system prompt: {"role": "system", ...}, SystemMessage(...), system=...
_SYSTEM_PROMPT = re.compile(r"""["']role["']\s*:\s*["']system["']|SystemMessage\(|"""
                            r"""\bsystem\s*=\s*[A-Za-z_"']|role\s*=\s*["']system["']""")
_LLM_ROUTE = re.compile(r"/(chat|llm|completions?|prompt|assistant|ask)\b", re.I)
#: a request body taken as a plain mapping: no model, no bound on any field
_UNTYPED_BODY = re.compile(r"^(dict|Dict|Mapping|Any|typing\.Any|Json)(\[.*\])?$")
_Handler = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True)
class _LlmHandler:
    models: list[str]  # the body models it takes, nested ones included
    measured: bool  # it measures the prompt itself
    untyped: str  # ``payload: dict`` when the body is an untyped mapping, else ''
    location: str  # path:line of the handler
    name: str  # the handler's function name


def _llm_handlers(ctx: Context, mods: list[PyModule]) -> Iterator[tuple[PyModule, _Handler,
                                                                        list[str]]]:
    """(module, handler, annotations of its input parameters) for route handlers of modules
    that call an LLM client, handlers that reach one through the project's own functions, or
    whose route (with the router's prefix) names a chat/LLM endpoint."""
    known, names = llm_reach(ctx)
    for m in mods:
        calls_llm = any(isinstance(n, ast.Call) and _LLM_CALL.search(call_name(n))
                        for n in ast.walk(m.tree))
        prefixes = " ".join(ast.unparse(n) for n in ast.walk(m.tree) if isinstance(n, ast.Call)
                            and call_name(n).endswith("APIRouter"))
        for fn in (n for n in ast.walk(m.tree) if isinstance(n, ast.FunctionDef |
                                                                ast.AsyncFunctionDef)):
            if not is_handler(fn):
                continue
            route = prefixes + " ".join(ast.unparse(d) for d in fn.decorator_list)
            if not calls_llm and not _LLM_ROUTE.search(route) and \
                    not reaches_llm(fn, known, names.get(m.rel)):
                continue
            inputs = handler_params(fn)
            anns = [f"{a.arg}: {ast.unparse(a.annotation)}"
                    for a in fn.args.args + fn.args.kwonlyargs
                    if a.arg in inputs and a.annotation is not None]
            yield m, fn, anns


def _checks_size(fn: ast.AST) -> bool:
    """The handler measures the prompt itself (``len(...)`` against a ``max_*`` limit)."""
    text = ast.unparse(fn)
    return "len(" in text and bool(re.search(r"max_\w*(chars|length|len|tokens|size)", text,
                                             re.I))


def _referenced(models: dict[str, list[_Field]], roots: list[str]) -> list[str]:
    """The models reachable from ``roots`` (``name: annotation``) through field annotations
    (nested message models)."""
    seen: list[str] = []
    todo = [n for r in roots for n in re.findall(r"\w+", r.split(": ", 1)[-1]) if n in models]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.append(name)
        for f in models[name]:
            todo += [n for n in re.findall(r"\w+", f.annotation) if n in models]
    return seen


def _body_models(ctx: Context) -> tuple[dict[str, list[_Field]], list[_LlmHandler]]:
    """Models by name, and per LLM handler: its body models, whether it measures the prompt
    itself and whether it takes the body as an untyped mapping."""
    mods = code_modules(ctx)
    handlers = list(_llm_handlers(ctx, mods))
    if not handlers:
        raise Skip("no LLM endpoint (a route handler calling an LLM client, directly or through "
                   "the project's functions, or routed as chat/llm/completions)")
    models = _models(mods)
    out = []
    for m, fn, anns in handlers:
        untyped = next((a for a in anns if _UNTYPED_BODY.match(a.split(": ", 1)[1])), "")
        out.append(_LlmHandler(_referenced(models, anns), _checks_size(fn), untyped, m.line(fn),
                                fn.name))
    return models, out


@check("RDY-018", "Clients cannot set the role of LLM messages (no client-supplied system "
       "prompt)", severity=Severity.HIGH, needs=("repo",), checklist=("3.1.3",),
       references=("OWASP LLM01:2025",), evidence=Evidence.PARSED)
def llm_message_roles(ctx: Context) -> list[Finding]:
    """In the request models of LLM endpoints (route handlers in a module that calls an LLM
    client — OpenAI/Azure ``chat.completions.create``, Anthropic ``messages.create``,
    LangChain ``invoke``, LiteLLM, Ollama —, handlers that reach an LLM call or an HTTP request
    to a provider's API URL through the project's own functions, or routed as ``/chat``,
    ``/llm``, ``/completions``), a ``role`` field is restricted to the user's own
    roles (``Literal["user"]``, ``Literal["user", "assistant"]`` or an Enum without
    ``system``), not a free string.

    Judged only when the server sets a system prompt of its own (``{"role": "system", ...}``,
    ``SystemMessage(...)``, ``system=...``): a pass-through chat API has none to override.

    A free ``role`` lets any client send its own ``system`` message and override the system
    prompt (and the guardrails written in it), or forge ``assistant`` turns.

    Remediation: ``role: Literal["user", "assistant"] = "user"`` (or accept only the user's
    text and build the history on the server).
    """
    models, per_handler = _body_models(ctx)
    own_prompt = [m.rel for m in code_modules(ctx) if _SYSTEM_PROMPT.search(m.text)]
    findings: list[Finding] = []
    seen: set[str] = set()
    judged = 0
    for h in per_handler:
        for f in (f for n in h.models for f in models[n] if f.name == "role"):
            judged += 1
            free = f.annotation in ("str", "Optional[str]", "str | None") or \
                "system" in f.text.lower()
            if free and f.location not in seen:
                seen.add(f.location)
                findings.append(failed(f"{f.model}.role is {f.annotation}: clients can send "
                                       "system or assistant messages", location=f.location,
                                       evidence=f.text))
    if not judged:
        raise Skip("the LLM endpoints' request models have no role field")
    if findings and not own_prompt:
        return [passed(f"{judged} role field(s) accept client roles, but the server adds no "
                       "system prompt of its own to override (a pass-through chat API)")]
    if not findings:
        findings.append(passed(f"{judged} role field(s) of LLM request models are restricted"))
    return findings


@check("RDY-019", "LLM request models bound the prompt (message count and length)",
       severity=Severity.MEDIUM, needs=("repo",), checklist=("3.1.3",),
       references=("OWASP LLM10:2025",), evidence=Evidence.PARSED)
def llm_prompt_bounds(ctx: Context) -> list[Finding]:
    """Each LLM endpoint's request model bounds what reaches the provider: its list of messages
    has a ``max_length`` (pydantic ``Field``/``conlist``) and its text fields (``content``,
    ``prompt``, ``message``, ``query`` …) a ``max_length``. One finding per request model, at
    the unbounded list (else the first unbounded text field); a handler that takes its body as
    an untyped mapping (``payload: dict``) bounds nothing and is reported at the handler. A
    handler that measures the prompt itself (``len(...)`` against a ``max_*`` limit) is
    bounded. WARN: a bound may be enforced elsewhere (a proxy's body limit, a token count).
    Endpoints that take no request model with a text field, and no plain mapping, are not
    judged (SKIP when none is left).

    Every token is paid for: an unbounded prompt is a cost and quota attack, and a way to push
    the system prompt out of the context window.

    Remediation: ``messages: list[Message] = Field(max_length=50)``, ``content: str =
    Field(max_length=8000)``, and count tokens before calling the provider.
    """
    models, per_handler = _body_models(ctx)
    findings: list[Finding] = []
    seen: set[str] = set()
    judged = 0
    for h in per_handler:
        if h.measured:
            judged += 1
            continue
        if not h.models and h.untyped:
            judged += 1
            findings.append(warned(f"LLM endpoint {h.name} takes its body as an untyped mapping "
                                   f"({h.untyped}): no field, and no prompt size, is bounded",
                                   location=h.location, evidence=h.untyped))
            continue
        fields = [f for n in h.models for f in models[n] if _TEXT_FIELD.match(f.name)]
        judged += bool(fields)
        unbounded = [f for f in fields if not _BOUND.search(f.text)]
        lists = [f for f in unbounded if re.match(r"(list|List|Sequence)\[", f.annotation)]
        candidates = lists or unbounded
        pick = candidates[0] if candidates else None
        if pick is not None and pick.location not in seen:
            seen.add(pick.location)
            findings.append(warned(f"{pick.model}.{pick.name} ({pick.annotation}) has no "
                                   "max_length: any prompt size is forwarded to the provider",
                                   location=pick.location, evidence=pick.text))
    if not findings and not judged:
        raise Skip(f"{len(per_handler)} LLM endpoint(s), none taking a request model with a "
                   "text field or a plain mapping: no prompt bound to judge")
    if not findings:
        findings.append(passed(f"{judged} LLM endpoint(s): request text and message lists are "
                               "bounded"))
    return findings
