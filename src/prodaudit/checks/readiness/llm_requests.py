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
from prodaudit.checks.readiness._taint import (
    Flow,
    aliases,
    code_modules,
    handler_params,
    is_handler,
)
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
    module: PyModule
    fn: _Handler
    inputs: tuple[str, ...]  # ``name: annotation`` of its annotated input parameters


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


#: list methods that add the messages they are given to a list
_ADDS = {"append": "item", "insert": "item", "extend": "items"}


@dataclass(frozen=True)
class _Roles:
    """Whether request data can choose a message's role in an expression passed as an LLM
    call's ``messages``: the expressions are followed through names, list building and
    comprehensions; a message literal with a constant ``role`` is the server's."""

    flow: Flow
    fn: ast.AST
    seeds: frozenset[str]  # the handler's untyped body parameters

    def items(self, e: ast.expr | None, depth: int = 0) -> bool:
        """``e`` is a list of messages: one of them may carry the client's role."""
        if e is None or depth > 6:
            return False
        if isinstance(e, ast.List | ast.Tuple):
            return any(self.item(x, depth + 1) for x in e.elts)
        if isinstance(e, ast.BinOp) and isinstance(e.op, ast.Add):
            return self.items(e.left, depth + 1) or self.items(e.right, depth + 1)
        if isinstance(e, ast.IfExp):
            return self.items(e.body, depth + 1) or self.items(e.orelse, depth + 1)
        if isinstance(e, ast.ListComp | ast.GeneratorExp):
            if any("role" in ast.unparse(c) for g in e.generators for c in g.ifs):
                return False  # filtered by role
            return self.flow.is_tainted(e.generators[0].iter) and self.item(e.elt, depth + 1)
        if isinstance(e, ast.Call) and isinstance(e.func, ast.Name) and \
                e.func.id in ("list", "tuple") and e.args:
            return self.items(e.args[0], depth + 1)
        if isinstance(e, ast.Name):
            return self._name(e.id, depth)
        if isinstance(e, ast.Await):
            return self.items(e.value, depth + 1)
        if isinstance(e, ast.Call):  # data.get("messages"), request.get_json(), json.loads(body)
            return isinstance(e.func, ast.Attribute) and self.flow.is_tainted(e)
        # a helper of the project's own given the body may set the roles itself: not judged
        return isinstance(e, ast.Subscript | ast.Attribute) and self.flow.is_tainted(e)

    def item(self, e: ast.expr, depth: int) -> bool:
        """``e`` is one message."""
        if isinstance(e, ast.Starred):
            return self.items(e.value, depth + 1)
        if isinstance(e, ast.Dict):
            role = next((v for k, v in zip(e.keys, e.values, strict=True)
                         if isinstance(k, ast.Constant) and k.value == "role"), None)
            spread = [v for k, v in zip(e.keys, e.values, strict=True) if k is None]
            if role is not None:
                return self.flow.is_tainted(role)
            return any(self.flow.is_tainted(v) for v in spread)
        if isinstance(e, ast.Call):
            return any(kw.arg == "role" and self.flow.is_tainted(kw.value) for kw in e.keywords)
        return self.flow.is_tainted(e)

    def _name(self, name: str, depth: int) -> bool:
        """A body parameter is the client's list; else every value the list is given."""
        if name in self.seeds:
            return True
        return any(self.item(v, depth + 1) if one else self.items(v, depth + 1)
                   for v, one in self._given(name))

    def _given(self, name: str) -> Iterator[tuple[ast.expr, bool]]:
        """(value, is one message) for every value the list ``name`` is given in the function:
        assignments, ``+=``, and the messages appended, inserted or extended."""
        for node in ast.walk(self.fn):
            if isinstance(node, ast.Assign | ast.AugAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                    yield node.value, False
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    isinstance(node.func.value, ast.Name) and node.func.value.id == name and \
                    node.func.attr in _ADDS and node.args:
                yield node.args[-1], _ADDS[node.func.attr] == "item"

    def reaches(self, e: ast.expr | None, depth: int = 0) -> bool:
        """Request data reaches ``e`` along the paths this reading follows (a helper of the
        project's own given the body is not followed: it may set the roles itself)."""
        if e is None or depth > 6:
            return False
        if isinstance(e, ast.Name):
            return e.id in self.seeds or any(self.reaches(v, depth + 1)
                                             for v, _ in self._given(e.id))
        if isinstance(e, ast.Call) and not isinstance(e.func, ast.Attribute) and not (
                isinstance(e.func, ast.Name) and e.func.id in ("list", "tuple")):
            return False
        if isinstance(e, ast.Subscript | ast.Attribute | ast.Call) and self.flow.is_tainted(e):
            return True
        if isinstance(e, ast.ListComp | ast.GeneratorExp):
            return any(self.reaches(g.iter, depth + 1) for g in e.generators)
        return any(self.reaches(c, depth + 1) for c in ast.iter_child_nodes(e)
                   if isinstance(c, ast.expr))


def _client_roles(handlers: list[_LlmHandler]) -> tuple[int, list[Finding]]:
    """(LLM calls judged, findings) for handlers that build the ``messages`` of an LLM call from
    request data not read through a model (``request.get_json()``, ``await request.json()``,
    a ``payload: dict`` body): a message whose role the client chooses is a FAIL at the call."""
    judged, findings = 0, []
    for h in handlers:
        m, fn = h.module, h.fn
        seeds = {name for name, ann in (a.split(": ", 1) for a in h.inputs)
                 if _UNTYPED_BODY.match(ann) or re.match(r"(list|List)\[(dict|Dict)", ann)}
        flow = Flow(fn, aliases(m), seeds, request_global=True)
        roles = _Roles(flow, fn, frozenset(seeds))
        for call in ast.walk(fn):
            if not (isinstance(call, ast.Call) and _LLM_CALL.search(call_name(call))):
                continue
            given = next((kw.value for kw in call.keywords if kw.arg == "messages"), None)
            if given is None or not roles.reaches(given):
                continue
            judged += 1
            if roles.items(given):
                findings.append(failed(
                    f"LLM endpoint {fn.name} passes messages built from the request body to "
                    f"{call_name(call)}: the client chooses their roles (a system message of "
                    "its own)", location=m.line(call), evidence=ast.unparse(given)[:200]))
    return judged, findings


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
                                fn.name, m, fn, tuple(anns)))
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

    A handler that takes the body untyped (``request.get_json()``, ``await request.json()``,
    ``payload: dict``) is followed from the body to the ``messages`` of its LLM calls (through
    names, ``+``, ``append``/``extend``/``insert``, ``*`` spreads and comprehensions): a
    message the client hands over whole, or whose ``role`` comes from the body, is a FAIL at
    the call; messages the server builds with its own roles (``{"role": "user", "content":
    data["prompt"]}``) or filters by role pass. A helper of the project's own that is given
    the body is not followed (it may set the roles itself).

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
    untyped, more = _client_roles(per_handler)
    findings += more
    if not judged and not untyped:
        raise Skip("the LLM endpoints' request models have no role field, and no LLM call's "
                   "messages come from an untyped request body")
    what = "; ".join(
        ([f"{judged} role field(s) of LLM request models"] if judged else []) +
        ([f"{untyped} LLM call(s) with messages built from an untyped request body"]
         if untyped else []))
    if findings and not own_prompt:
        return [passed(f"{what}: clients may choose roles, but the server adds no system "
                       "prompt of its own to override (a pass-through chat API)")]
    if not findings:
        findings.append(passed(f"{what}: the roles are restricted or the server's own"))
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
