"""The application's own error handlers, read statically: Flask/Quart ``@errorhandler`` /
``@app_errorhandler`` (also called by hand: ``app.errorhandler(E)(fn)``) and
``register_error_handler(code, fn)``, FastAPI/Starlette
``@exception_handler`` / ``add_exception_handler(exc, fn)`` / ``exception_handlers={...}``, Django
``handler404 = ...`` in a URL configuration, and any mapping from HTTP error statuses to functions
(``{404: not_found}``, ``{x: handle_40x for x in range(401, 600)}`` given to an aiohttp error
middleware), and the responses each one returns. Not a check module."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prodaudit.product.endpoint_model import dotted
from prodaudit.product.pyindex import Function, PyModule, extractor, py_index, walk

if TYPE_CHECKING:
    from prodaudit.context import Context

_DECORATORS = frozenset({"errorhandler", "app_errorhandler", "exception_handler"})
_REGISTER = frozenset({"register_error_handler", "add_exception_handler"})
_DJANGO = frozenset({"handler400", "handler403", "handler404", "handler500"})
#: response builders whose status defaults to 200, and how many positional arguments come
#: before the status (None: the status is a keyword only)
BUILDERS: dict[str, int | None] = {
    "render_template": None, "render_template_string": None, "jsonify": None,
    "json_response": None, "render": 4, "HttpResponse": 2, "JsonResponse": None,
    "TemplateResponse": 2, "HTMLResponse": 1, "JSONResponse": 1, "PlainTextResponse": 1,
    "ORJSONResponse": 1, "UJSONResponse": 1, "Response": 1, "make_response": 1,
    "render_to_response": 3,
}
_STATUS_KWARGS = frozenset({"status", "status_code"})


@dataclass(frozen=True)
class ErrorHandler:
    module: PyModule
    func: Function
    how: str  # how it is registered, e.g. "@app.errorhandler(404)"


def _status_key(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, int) and \
        400 <= node.value <= 599


def _error_mapping(node: ast.AST) -> list[str]:
    """Function names a mapping of HTTP error statuses points at."""
    if isinstance(node, ast.Dict):
        return [n.id for k, v in zip(node.keys, node.values, strict=False)
                if k is not None and _status_key(k) for n in ast.walk(v) if isinstance(n, ast.Name)]
    if isinstance(node, ast.DictComp):
        it = node.generators[0].iter if node.generators else None
        if isinstance(it, ast.Call) and dotted(it.func) == "range" and it.args and \
                _status_key(it.args[0]):
            return [n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)]
    return []


_STATUS_TEXT = re.compile(r"(?<![\w.])[45]\d\d\s*:|range\(\s*[45]\d\d")
#: the two halves of :data:`_STATUS_TEXT`, the first without its look-behind (a regex that
#: starts with a look-behind is tried at every position of the text: six times slower)
_STATUS_KEY = re.compile(r"[45]\d\d\s*:")
_NOT_BEFORE_KEY = re.compile(r"[\w.]")
_STATUS_RANGE = re.compile(r"range\(\s*[45]\d\d")


def _status_text(text: str) -> bool:
    """``_STATUS_TEXT.search(text) is not None``, faster: an error status as a mapping key
    (``404:``, not ``x404:`` or ``.404:``) or ``range(4xx``. A key candidate rejected for the
    character before it hides no other candidate (its digits are word characters)."""
    if "range(" in text and _STATUS_RANGE.search(text):
        return True
    for m in _STATUS_KEY.finditer(text):
        start = m.start()
        if start == 0 or _NOT_BEFORE_KEY.match(text, start - 1) is None:
            return True
    return False


@extractor("error_handlers:status_text")
def _registering_text(mod: PyModule) -> bool:
    """``exception_handlers`` or an error status as a mapping key in the module's text (the
    py_index pass, while it has the text)."""
    text = mod.text
    return "exception_handlers" in text or _status_text(text)


def _may_register(mod: PyModule) -> bool:
    """Whether ``mod`` can register an error handler at all (a superset read from the summary
    and the text, so that a module with none is never parsed again): a registering call, a
    Django ``handlerNNN`` name, a handler decorator (it may be called by hand:
    ``app.errorhandler(E)(fn)``), ``exception_handlers=`` or an error status as a mapping key."""
    return bool(mod.names & (_REGISTER | _DJANGO | _DECORATORS)) or \
        bool(mod.fact("error_handlers:status_text"))


def _registered(mod: PyModule) -> dict[str, str]:
    """name -> how, for functions registered as error handlers in ``mod``."""
    out: dict[str, str] = {}
    for call in mod.calls:
        last = dotted(call.func).rsplit(".", 1)[-1]
        if last in _REGISTER and len(call.args) >= 2:
            out.setdefault(dotted(call.args[1]).rsplit(".", 1)[-1], f"{last}(...)")
        elif isinstance(call.func, ast.Call) and call.args and \
                dotted(call.func.func).rsplit(".", 1)[-1] in _DECORATORS:
            # the decorator called by hand: app.errorhandler(InvalidUsage)(handle)
            out.setdefault(dotted(call.args[0]).rsplit(".", 1)[-1],
                           f"{ast.unparse(call.func)[:60]}(...)")
        for kw in call.keywords:
            if kw.arg == "exception_handlers":
                for name in _error_mapping(kw.value):
                    out.setdefault(name, "exception_handlers={...}")
    for node in walk(mod.tree):
        if isinstance(node, ast.Dict | ast.DictComp):
            for name in _error_mapping(node):
                out.setdefault(name, "a mapping of error statuses")
    for a in mod.assigns:
        targets = a.targets if isinstance(a, ast.Assign) else [a.target]
        if any(isinstance(t, ast.Name) and t.id in _DJANGO for t in targets) and a.value is not None:
            value = a.value.value if isinstance(a.value, ast.Constant) else dotted(a.value)
            out.setdefault(str(value).rsplit(".", 1)[-1], "a Django error handler")
    return out


def error_handlers(ctx: Context) -> list[ErrorHandler]:
    def build() -> list[ErrorHandler]:
        mods = py_index(ctx)
        named: dict[str, str] = {}
        for mod in mods:
            if _may_register(mod):
                named.update(_registered(mod))
        out: list[ErrorHandler] = []
        for mod in mods:
            if not (mod.names & _DECORATORS or any(name in mod.text for name in named)):
                continue  # no handler decorator and no registered name: nothing to parse
            for func in mod.functions:
                dec = next((d for d in func.decorator_list if isinstance(d, ast.Call)
                            and dotted(d.func).rsplit(".", 1)[-1] in _DECORATORS), None)
                if dec is not None:
                    out.append(ErrorHandler(mod, func, "@" + ast.unparse(dec)[:60]))
                elif func.name in named and func.args.args:
                    out.append(ErrorHandler(mod, func, named[func.name]))
        return out

    result: list[ErrorHandler] = ctx.memo("product:error-handlers", build)
    return result


def _own_nodes(func: Function) -> list[ast.AST]:
    """The nodes of ``func``'s body, nested functions and classes left out."""
    out: list[ast.AST] = []
    stack: list[ast.AST] = list(func.body)
    while stack:
        node = stack.pop()
        out.append(node)
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            stack.extend(ast.iter_child_nodes(node))
    return out


def default_status_returns(func: Function) -> list[tuple[ast.Call, str]]:
    """(call, builder) of each response ``func`` returns that a builder makes with its default
    status 200: no ``status``/``status_code``, no status argument, not returned in a
    ``(body, status)`` tuple, and no status set on it afterwards."""
    nodes = _own_nodes(func)
    if any(isinstance(n, ast.Attribute) and n.attr in _STATUS_KWARGS and
           isinstance(n.ctx, ast.Store) for n in nodes) or \
            any(isinstance(n, ast.Call) and dotted(n.func).endswith("set_status") for n in nodes):
        return []
    assigned: dict[str, ast.expr] = {}
    for n in nodes:
        if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name):
            assigned[n.targets[0].id] = n.value
    out: list[tuple[ast.Call, str]] = []
    for n in nodes:
        if not isinstance(n, ast.Return) or n.value is None:
            continue
        value = n.value
        if isinstance(value, ast.Await):
            value = value.value
        if isinstance(value, ast.Name):
            value = assigned.get(value.id, value)
        if isinstance(value, ast.Await):
            value = value.value
        if not isinstance(value, ast.Call):
            continue
        name = dotted(value.func).rsplit(".", 1)[-1]
        if name not in BUILDERS or any(k.arg in _STATUS_KWARGS for k in value.keywords):
            continue
        before = BUILDERS[name]
        if before is not None and len(value.args) > before:
            continue
        out.append((value, name))
    return out
