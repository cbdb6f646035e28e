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


def _llm_handlers(mods: list[PyModule]) -> Iterator[tuple[PyModule, ast.FunctionDef |
                                                           ast.AsyncFunctionDef, list[str]]]:
    """(module, handler, names of its body-model annotations) for route handlers of modules
    that call an LLM client, or whose route (with the router's prefix) names a chat/LLM
    endpoint."""
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
            if not calls_llm and not _LLM_ROUTE.search(route):
                continue
            inputs = handler_params(fn)
            anns = [ast.unparse(a.annotation) for a in fn.args.args + fn.args.kwonlyargs
                    if a.arg in inputs and a.annotation is not None]
            yield m, fn, anns


def _checks_size(fn: ast.AST) -> bool:
    """The handler measures the prompt itself (``len(...)`` against a ``max_*`` limit)."""
    text = ast.unparse(fn)
    return "len(" in text and bool(re.search(r"max_\w*(chars|length|len|tokens|size)", text,
                                             re.I))


def _referenced(models: dict[str, list[_Field]], roots: list[str]) -> list[str]:
    """The models reachable from ``roots`` through field annotations (nested message models)."""
    seen: list[str] = []
    todo = [n for r in roots for n in re.findall(r"\w+", r) if n in models]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.append(name)
        for f in models[name]:
            todo += [n for n in re.findall(r"\w+", f.annotation) if n in models]
    return seen


def _body_models(ctx: Context) -> tuple[dict[str, list[_Field]], list[tuple[list[str], bool]]]:
    """Models by name, and per LLM handler: its body models and whether it measures the
    prompt itself."""
    mods = code_modules(ctx)
    handlers = list(_llm_handlers(mods))
    if not handlers:
        raise Skip("no LLM endpoint (a route handler calling an LLM client or routed as "
                   "chat/llm/completions)")
    models = _models(mods)
    return models, [(_referenced(models, anns), _checks_size(fn)) for _m, fn, anns in handlers]


@check("RDY-018", "Clients cannot set the role of LLM messages (no client-supplied system "
       "prompt)", severity=Severity.HIGH, needs=("repo",), checklist=("3.1.3",),
       references=("OWASP LLM01:2025",), evidence=Evidence.PARSED)
def llm_message_roles(ctx: Context) -> list[Finding]:
    """In the request models of LLM endpoints (route handlers in a module that calls an LLM
    client — OpenAI/Azure ``chat.completions.create``, Anthropic ``messages.create``,
    LangChain ``invoke``, LiteLLM, Ollama — or routed as ``/chat``, ``/llm``,
    ``/completions``), a ``role`` field is restricted to the user's own
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
    for names, _measured in per_handler:
        for f in (f for n in names for f in models[n] if f.name == "role"):
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
    the unbounded list (else the first unbounded text field). A handler that measures the
    prompt itself (``len(...)`` against a ``max_*`` limit) is bounded. WARN: a bound may be
    enforced elsewhere (a proxy's body limit, a token count).

    Every token is paid for: an unbounded prompt is a cost and quota attack, and a way to push
    the system prompt out of the context window.

    Remediation: ``messages: list[Message] = Field(max_length=50)``, ``content: str =
    Field(max_length=8000)``, and count tokens before calling the provider.
    """
    models, per_handler = _body_models(ctx)
    findings: list[Finding] = []
    seen: set[str] = set()
    for names, measured in per_handler:
        if measured:
            continue
        fields = [f for n in names for f in models[n] if _TEXT_FIELD.match(f.name)]
        unbounded = [f for f in fields if not _BOUND.search(f.text)]
        lists = [f for f in unbounded if re.match(r"(list|List|Sequence)\[", f.annotation)]
        candidates = lists or unbounded
        pick = candidates[0] if candidates else None
        if pick is not None and pick.location not in seen:
            seen.add(pick.location)
            findings.append(warned(f"{pick.model}.{pick.name} ({pick.annotation}) has no "
                                   "max_length: any prompt size is forwarded to the provider",
                                   location=pick.location, evidence=pick.text))
    if not findings:
        findings.append(passed(f"{len(per_handler)} LLM endpoint(s): request text and message "
                               "lists are bounded"))
    return findings
