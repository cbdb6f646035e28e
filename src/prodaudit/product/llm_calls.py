"""Which of the application's functions call an LLM: directly (an SDK call such as
``client.chat.completions.create``, or an HTTP request to a provider's API URL such as
``httpx.post("https://api.openai.com/v1/chat/completions")``), or through the project's own
functions they call (followed by name to a fixed point). Route checks ask it whether a handler
reaches a paid model even when the provider call lives in a helper module. Not a check module."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from prodaudit.product.endpoint_model import dotted
from prodaudit.product.pyindex import py_index

if TYPE_CHECKING:
    from prodaudit.context import Context

#: calls of provider SDKs and frameworks (OpenAI, Anthropic, Gemini, LangChain, Ollama, LiteLLM)
LLM_SDK_CALL = re.compile(
    r"(chat\.completions|\bcompletions|\bmessages|\bresponses|ChatCompletion|Completion)"
    r"\.a?(create|stream)$|\.generate_content(_async)?$|"
    r"\b(llm|chain|model|agent)\.a?(invoke|predict|stream|run)$|"
    r"\bollama\.a?(chat|generate)$|\blitellm\.a?completion$", re.I)
#: an LLM provider's API in a URL: OpenAI-compatible paths, Anthropic, Gemini, Ollama and the
#: hosted providers' hosts
LLM_URL = re.compile(
    r"/chat/completions\b|/v1/completions\b|/v1/messages\b|/v1/responses\b|"
    r":(stream)?generateContent\b|api\.openai\.com|api\.anthropic\.com|"
    r"generativelanguage\.googleapis\.com|api\.mistral\.ai|api\.groq\.com|api\.together\.xyz|"
    r"openrouter\.ai/api|api\.cohere\.(ai|com)|api\.deepseek\.com|"
    r"api-inference\.huggingface\.co|\bopenai\.azure\.com|:11434/api/(generate|chat)\b", re.I)
#: the request methods of HTTP clients (httpx, requests, aiohttp: module functions or clients)
_HTTP_CALL = re.compile(r"(^|\.)(post|stream|request|send|a?post_json)$")
_Fn = ast.FunctionDef | ast.AsyncFunctionDef
MAX_ROUNDS = 6


def _strings(node: ast.AST | None) -> str:
    """The literal text of a string constant or f-string (its constant parts), else ''."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values
                       if isinstance(v, ast.Constant) and isinstance(v.value, str))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _strings(node.left) + _strings(node.right)
    return ""


def _assigned(scope: ast.AST) -> dict[str, str]:
    """Names assigned a string (constant or f-string) directly in ``scope``'s body."""
    out: dict[str, str] = {}
    for st in ast.walk(scope):
        if isinstance(st, ast.Assign) and len(st.targets) == 1 \
                and isinstance(st.targets[0], ast.Name):
            text = _strings(st.value)
            if text:
                out[st.targets[0].id] = text
        elif isinstance(st, ast.AnnAssign) and isinstance(st.target, ast.Name):
            text = _strings(st.value)
            if text:
                out[st.target.id] = text
    return out


def _url_of(call: ast.Call, names: dict[str, str]) -> str:
    """The LLM API URL a request call sends to ('' when its URL is not one)."""
    args = list(call.args[:2]) + [k.value for k in call.keywords if k.arg in ("url", "endpoint")]
    for a in args:
        text = names.get(a.id, "") if isinstance(a, ast.Name) else _strings(a)
        m = LLM_URL.search(text)
        if m:
            return m.group(0)
    return ""


def direct_llm_call(fn: ast.AST, module_names: dict[str, str]) -> str:
    """What in ``fn`` (nested functions included) calls an LLM directly: the SDK call's name or
    ``POST <provider URL>``; '' when nothing does."""
    local: dict[str, str] | None = None
    for n in ast.walk(fn):
        if not isinstance(n, ast.Call):
            continue
        name = dotted(n)
        if LLM_SDK_CALL.search(name):
            return name
        if _HTTP_CALL.search(name):
            if local is None:
                local = {**module_names, **_assigned(fn)}
            url = _url_of(n, local)
            if url:
                return f"{name}() to {url}"
    return ""


#: a module worth parsing for LLM calls: it names an SDK call's last part or a provider URL
_MARKER = re.compile(r"completions|messages|responses|generate_content|invoke|predict|ollama|"
                     r"litellm|generateContent|/v1/|api\.|:11434", re.I)


def llm_reach(ctx: Context) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Once per run: the application's LLM-calling functions (:func:`llm_functions`) and, per
    module, its module-level names bound to a provider URL."""
    def build() -> tuple[dict[str, str], dict[str, dict[str, str]]]:
        mods = list(py_index(ctx))
        if not any(_MARKER.search(m.text) for m in mods):
            return {}, {}
        pairs = [(m.rel, m.tree) for m in mods]
        names = {rel: {k: v for k, v in _assigned_top(tree).items() if LLM_URL.search(v)}
                 for rel, tree in pairs}
        return llm_functions(pairs), names
    return ctx.memo("product.llm_calls", build)


def _assigned_top(tree: ast.Module) -> dict[str, str]:
    """Module-level names assigned a string."""
    out: dict[str, str] = {}
    for st in tree.body:
        if isinstance(st, ast.Assign | ast.AnnAssign):
            out.update(_assigned(st))
    return out


def llm_functions(modules: Iterable[tuple[str, ast.Module]]) -> dict[str, str]:
    """Project functions (by name) that call an LLM, directly or through the project functions
    they call, with what they reach. A name defined in several modules counts only when each of
    those modules has a definition that calls an LLM (alternative definitions of one module —
    ``if KEY: def ask(...)`` / ``else: def ask(...)`` — count together)."""
    defs: dict[str, list[tuple[str, ast.AST]]] = {}
    module_names: dict[str, dict[str, str]] = {}
    for rel, tree in modules:
        module_names[rel] = {k: v for k, v in _assigned_top(tree).items() if LLM_URL.search(v)}
        for n in ast.walk(tree):
            if isinstance(n, _Fn):
                defs.setdefault(n.name, []).append((rel, n))
    why: dict[str, dict[int, str]] = {name: {} for name in defs}
    for name, fns in defs.items():
        for i, (rel, fn) in enumerate(fns):
            hit = direct_llm_call(fn, module_names[rel])
            if hit:
                why[name][i] = hit
    known = _counted(defs, why)
    for _ in range(MAX_ROUNDS):
        changed = False
        for name, fns in defs.items():
            for i, (_rel, fn) in enumerate(fns):
                if i in why[name]:
                    continue
                for n in ast.walk(fn):
                    callee = dotted(n).split(".")[-1] if isinstance(n, ast.Call) else ""
                    if callee != name and callee in known:
                        why[name][i] = f"{callee}() → {known[callee]}"
                        changed = True
                        break
        if not changed:
            break
        known = _counted(defs, why)
    return known


def _counted(defs: dict[str, list[tuple[str, ast.AST]]],
             why: dict[str, dict[int, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, fns in defs.items():
        if not why[name]:
            continue
        modules = {rel for rel, _ in fns}
        calling = {fns[i][0] for i in why[name]}
        if modules <= calling:
            out[name] = next(iter(why[name].values()))
    return out


def reaches_llm(fn: ast.AST, known: dict[str, str], module_names: dict[str, str] | None = None
                ) -> str:
    """What LLM call ``fn`` (a route handler; nested functions included) reaches: a direct call,
    or ``helper() → …`` through a project function of ``known``; '' when none."""
    hit = direct_llm_call(fn, module_names or {})
    if hit:
        return hit
    # its own nested functions are walked here: the helper they call is the one to name
    own = {n.name for n in ast.walk(fn) if isinstance(n, _Fn)}
    for n in ast.walk(fn):
        callee = dotted(n).split(".")[-1] if isinstance(n, ast.Call) else ""
        if callee and callee not in own and callee in known:
            return f"{callee}() → {known[callee]}"
    return ""
