"""One parser for the audited repository's Python source, whatever Python it was written for.

Every check and product module that reads Python parses it here. The host interpreter's ``ast``
comes first. A file the host cannot parse (3.12-3.14 syntax on a 3.11 host: PEP 695 generics and
``type X = ...``, PEP 701 f-strings with nested quotes, backslashes or comments, ``except A, B:``,
t-strings; or Python 2 ``print`` statements) is parsed with tree-sitter's Python grammar, which
knows current Python, and rewritten into the host's syntax with every line where it was (only the
new constructs change: type parameters are dropped, ``type X = v`` becomes ``X = v``, f-strings
are re-quoted, t-strings read as f-strings). A statement that still does not parse is replaced by
``pass`` on its lines. The result is an ordinary ``ast.Module`` with the original line numbers;
``ParsedSource.note`` says what was approximated. Only a file neither grammar can read (or one
with NUL bytes) has no tree, and its note names the reason: callers skip that one file and report
it, never the whole check.

An unrendered project template's module (cookiecutter, copier, ``django-admin startproject
--template``: ``from {{ project_name }}.views import home``, ``{% if use_celery %}`` lines) that
the host rejects at a template tag is read with every ``{{ ... }}`` replaced by an identifier of the
same length and every line that holds only ``{% ... %}`` / ``{# ... #}`` tags blanked (line numbers
and columns stay exact): ``grammar`` "template". One that still does not parse has no tree and
``template`` set: callers say "template not rendered" instead of reporting a syntax error.
"""

from __future__ import annotations

import ast
import dataclasses
import re
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prodaudit.templating import (
    TEMPLATE_NOT_RENDERED,
    has_template_tag,
    line_text,
    render_placeholders,
)

if TYPE_CHECKING:
    from prodaudit.context import Context

MAX_PASSES = 25  # statements replaced by ``pass`` in one file, at most
TREE_LRU = 64  # trees a SourceCache keeps (the most recently parsed)
_STATEMENT_SUFFIXES = ("_statement", "_definition")


@dataclass(frozen=True)
class ParsedSource:
    """A parse result: ``tree`` is None only when the file could not be read as Python."""

    tree: ast.Module | None
    grammar: str  # "host" | "modern" (tree-sitter, rewritten) | "template" (rendered) | "none"
    note: str = ""  # what was approximated, or why there is no tree
    line: int = 0  # the first line the host interpreter rejected
    template: bool = False  # an unrendered template's module (its tree, if any, is the rendering)

    @property
    def parsed(self) -> bool:
        """The file was read as Python (its tree may have been dropped since: see SourceCache)."""
        return self.grammar != "none"

    @property
    def approximated(self) -> bool:
        return self.grammar == "modern"

    @property
    def unrendered(self) -> bool:
        """An unrendered template's module that not even its placeholder rendering parses."""
        return self.template and self.grammar == "none"

    def outcome(self) -> ParsedSource:
        """This result without its tree (what a ``SourceCache`` keeps for the audit)."""
        return dataclasses.replace(self, tree=None)


#: CPython 3.11 keeps the AST converter's recursion depth in per-interpreter state: two threads
#: parsing at once (checks run in threads) can corrupt it ("SystemError: AST constructor
#: recursion depth mismatch"). Parsing holds the GIL for most of its time anyway.
_AST_LOCK = threading.Lock()


def host_parse(text: str, filename: str = "<source>") -> ast.Module:
    """``ast.parse`` with the host grammar, one thread at a time (see ``_AST_LOCK``); raises
    what ``ast.parse`` raises. Every parse of the audited repository's Python goes through here."""
    with _AST_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid escape sequences in the target's code
        return ast.parse(text, filename=filename)


def parse_python(text: str, filename: str = "<source>") -> ParsedSource:
    """Parse ``text`` with the host grammar, else through tree-sitter (see the module docstring)."""
    try:
        return ParsedSource(host_parse(text, filename), "host")
    except SyntaxError as exc:
        line, msg = exc.lineno or 0, exc.msg
    except (ValueError, RecursionError, MemoryError) as exc:
        return ParsedSource(None, "none", f"not parseable: {exc}")
    if has_template_tag(line_text(text, line)):
        return _template(text, filename, line, msg)
    return _modern(text, filename, line, msg)


# ---------------------------------------------------------------------------- templates
def _template(text: str, filename: str, line: int, msg: str) -> ParsedSource:
    """A module the host rejects at a template tag: its rendering (see the module docstring)."""
    try:
        tree = host_parse(render_placeholders(text), filename)
    except SyntaxError as exc:
        return ParsedSource(None, "none", f"{TEMPLATE_NOT_RENDERED} (line {line}: {msg}; rendered "
                                          f"with placeholders as names, line {exc.lineno}: "
                                          f"{exc.msg})", exc.lineno or line, template=True)
    except (ValueError, RecursionError, MemoryError) as exc:
        return ParsedSource(None, "none", f"{TEMPLATE_NOT_RENDERED} ({exc})", line, template=True)
    return ParsedSource(tree, "template", f"unrendered template placeholders (line {line}) read "
                                          "as names", line, template=True)


def parse_tree(text: str, filename: str = "<source>") -> ast.Module | None:
    """The tree of :func:`parse_python`, None when the file cannot be read as Python."""
    return parse_python(text, filename).tree


def _modern(text: str, filename: str, line: int, msg: str) -> ParsedSource:
    host_error = f"line {line}: {msg}"
    try:
        import tree_sitter_python
        from tree_sitter import Language, Parser
    except ImportError:
        return ParsedSource(None, "none", f"syntax error on the host Python ({host_error}) and "
                                          "tree-sitter-python is not installed", line)
    parser = Parser(Language(tree_sitter_python.language()))
    data = text.encode("utf-8", errors="surrogateescape")
    rewritten = _rewrite(parser.parse(data).root_node, data)
    blanked: list[int] = []
    for _ in range(MAX_PASSES):
        try:
            tree = host_parse(rewritten.decode("utf-8", errors="replace"), filename)
        except SyntaxError as exc:
            nxt = _blank_statement(parser, rewritten, exc.lineno or 0)
            if nxt is None:
                return ParsedSource(None, "none", f"syntax error ({host_error}), also in "
                                                  "tree-sitter's grammar", line)
            rewritten = nxt
            blanked.append(exc.lineno or 0)
            continue
        except (ValueError, RecursionError, MemoryError) as exc:
            return ParsedSource(None, "none", f"not parseable: {exc}", line)
        note = f"syntax the host Python rejects ({host_error}); parsed with tree-sitter"
        if blanked:
            note += f", statement(s) at line {', '.join(map(str, blanked))} skipped"
        return ParsedSource(tree, "modern", note, line)
    return ParsedSource(None, "none", f"syntax error ({host_error}): more than {MAX_PASSES} "
                                      "statements could not be read", line)


# ---------------------------------------------------------------------------- rewriting
Edit = tuple[int, int, bytes]  # (start byte, end byte, replacement)


def _rewrite(root: Any, data: bytes) -> bytes:
    """Rewrite constructs the host grammar lacks; every newline stays where it was."""
    edits: list[Edit] = []
    stack = [root]
    while stack:
        node = stack.pop()
        kind = node.type
        if kind == "string" and _string_needs_rewrite(node, data):
            edits.append((node.start_byte, node.end_byte, _render_string(node, data, 0)))
            continue  # nested strings are handled by the re-rendering
        if kind == "type_alias_statement":
            edits += _type_alias_edits(node)
        elif kind in ("function_definition", "class_definition"):
            edits += [(c.start_byte, c.end_byte, b"") for c in node.children
                      if c.type == "type_parameter"]
        elif kind == "except_clause":
            edits += _except_edits(node)
        elif kind in ("print_statement", "exec_statement"):
            edits.append(_pass_edit(node, data))
            continue
        stack.extend(node.children)
    return _apply(data, edits)


def _apply(data: bytes, edits: list[Edit]) -> bytes:
    out = bytearray()
    pos = 0
    for start, end, repl in sorted(edits):
        if start < pos:
            continue  # overlapping edit: the outer one already covers it
        out += data[pos:start] + repl
        pos = end
    out += data[pos:]
    return bytes(out)


def _type_alias_edits(node: Any) -> list[Edit]:
    """``type Name[T] = value`` → ``Name = value``."""
    kids = node.children
    if len(kids) < 2:
        return []
    edits: list[Edit] = [(kids[0].start_byte, kids[1].start_byte, b"")]
    target = kids[1]
    generic = target.children[0] if target.children else None
    if generic is not None and generic.type == "generic_type":
        edits += [(c.start_byte, c.end_byte, b"") for c in generic.children
                  if c.type == "type_parameter"]
    return edits


def _except_edits(node: Any) -> list[Edit]:
    """``except A, B:`` (3.14) → ``except (A, B):``."""
    kids = node.children
    commas = [c for c in kids if c.type == ","]
    colon = next((c for c in kids if c.type == ":"), None)
    if not commas or colon is None or len(kids) < 2 or any(c.type == "as" for c in kids):
        return []
    first = kids[1]
    return [(first.start_byte, first.start_byte, b"("), (colon.start_byte, colon.start_byte, b")")]


def _pass_edit(node: Any, data: bytes) -> Edit:
    """The statement replaced by ``pass`` with its newlines kept (Python 2 ``print x``)."""
    text = data[node.start_byte:node.end_byte]
    return node.start_byte, node.end_byte, b"pass" + b"\n" * text.count(b"\n")


def _prefix(node: Any) -> tuple[bytes, bytes]:
    """(prefix letters, quote) of a string node, e.g. (b"f", b'"')."""
    start = node.children[0].text if node.children else b""
    letters = start.rstrip(b"\"'")
    return letters, start[len(letters):]


def _string_needs_rewrite(node: Any, data: bytes) -> bool:
    letters, quote = _prefix(node)
    low = letters.lower()
    if b"t" in low:
        return True
    if b"f" not in low:
        return False
    for child in node.children:
        if child.type != "interpolation":
            continue
        body = data[child.start_byte + 1:child.end_byte - 1]
        if (b"\\" in body or quote[:1] in body or (b"\n" in body and len(quote) == 1)
                or _has_comment(child)):
            return True
    return False


def _has_comment(node: Any) -> bool:
    stack = list(node.children)
    while stack:
        n = stack.pop()
        if n.type == "comment":
            return True
        stack.extend(n.children)
    return False


def _render_string(node: Any, data: bytes, depth: int) -> bytes:
    """A string re-quoted for the host grammar: ``"`` outside (triple when it spans lines),
    ``'`` for strings nested in its expressions, nothing deeper than that."""
    letters, quote = _prefix(node)
    letters = letters.replace(b"t", b"f").replace(b"T", b"F")
    raw = b"r" in letters.lower()
    multiline = b"\n" in data[node.start_byte:node.end_byte]
    if depth >= 2:
        return b"0"
    new_q = (b'"""' if multiline else b'"') if depth == 0 else b"'"
    parts: list[bytes] = []
    for child in node.children[1:-1]:
        if child.type == "interpolation":
            parts.append(_render_interpolation(child, data, depth))
        else:
            parts.append(_literal(data[child.start_byte:child.end_byte], quote, new_q, raw, depth))
    return letters + new_q + b"".join(parts) + new_q


def _literal(text: bytes, old_q: bytes, new_q: bytes, raw: bool, depth: int) -> bytes:
    if depth > 0:  # a string nested in an expression: no backslash, no quote of either kind
        return text.replace(b"\\", b"").replace(b"'", b"").replace(b'"', b"")
    if new_q[:1] != old_q[:1] and not raw:
        text = re.sub(rb"(?<!\\)" + re.escape(new_q[:1]), b"\\" + new_q[:1], text)
    elif new_q[:1] != old_q[:1]:
        text = text.replace(new_q[:1], b"")
    return text


def _render_interpolation(node: Any, data: bytes, depth: int) -> bytes:
    out = bytearray()
    pos = node.start_byte
    for child in node.children:
        out += _blank_gap(data[pos:child.start_byte])
        if child.type in ("{", "}", "type_conversion", "format_specifier", "="):
            out += data[child.start_byte:child.end_byte]
        else:
            out += _render_expression(child, data, depth + 1)
        pos = child.end_byte
    return bytes(out)


def _blank_gap(gap: bytes) -> bytes:
    """Text between tokens (whitespace, comments tree-sitter left out): only its newlines."""
    return b" " * bool(gap) + b"\n" * gap.count(b"\n")


def _render_expression(node: Any, data: bytes, depth: int) -> bytes:
    """An expression's text with comments removed and nested strings re-rendered."""
    if node.type == "comment":
        return b""
    if node.type == "string":
        return _render_string(node, data, depth)
    if not node.children:
        return data[node.start_byte:node.end_byte]
    out = bytearray()
    pos = node.start_byte
    for child in node.children:
        out += _blank_gap(data[pos:child.start_byte])
        out += _render_expression(child, data, depth)
        pos = child.end_byte
    out += _blank_gap(data[pos:node.end_byte])
    return bytes(out)


def _blank_statement(parser: Any, data: bytes, line: int) -> bytes | None:
    """Replace the innermost statement containing ``line`` (1-based) by ``pass``."""
    if line <= 0:
        return None
    root = parser.parse(data).root_node
    row = line - 1
    best = None
    stack = [root]
    while stack:
        node = stack.pop()
        if not (node.start_point[0] <= row <= node.end_point[0]):
            continue
        if node.type.endswith(_STATEMENT_SUFFIXES) or node.type in ("ERROR",
                                                                     "decorated_definition"):
            best = node
        stack.extend(node.children)
    if best is None:
        return None
    start, end, repl = _pass_edit(best, data)
    new = data[:start] + repl + data[end:]
    return new if new != data else None


# ---------------------------------------------------------------------------- per audit
class SourceCache:
    """Parsed files of one audit, shared by every check: the outcome of every file parsed (its
    grammar, note and first rejected line: what ``notes`` reports) is kept for the audit; the
    trees only in a small LRU (``size``), so a large repository's trees are not all held at
    once. A file asked for again after its tree left the LRU is parsed again (the same tree)."""

    def __init__(self, size: int | None = None) -> None:
        self._lock = threading.Lock()
        self.size = size or TREE_LRU
        self._trees: OrderedDict[str, ParsedSource] = OrderedDict()
        self._outcomes: dict[str, ParsedSource] = {}  # without the tree

    def get(self, rel: str, text: str) -> ParsedSource:
        with self._lock:
            hit = self._trees.get(rel)
            if hit is not None:
                self._trees.move_to_end(rel)
                return hit
        parsed = parse_python(text, rel)
        with self._lock:
            self._trees[rel] = parsed
            self._trees.move_to_end(rel)
            while len(self._trees) > self.size:
                self._trees.popitem(last=False)
            if rel not in self._outcomes:
                self._outcomes[rel] = parsed.outcome()
        return parsed

    def record(self, rel: str, outcome: ParsedSource) -> None:
        """Keep how ``rel`` parsed elsewhere (a worker process of the py_index pass: the tree
        stayed there); a file already parsed here keeps its first outcome."""
        with self._lock:
            self._outcomes.setdefault(rel, outcome.outcome())

    def outcome(self, rel: str) -> ParsedSource | None:
        """How ``rel`` parsed (``tree`` always None here), None when it was never parsed."""
        with self._lock:
            return self._outcomes.get(rel)

    def notes(self) -> list[tuple[str, ParsedSource]]:
        """(path, outcome) of every file parsed so far that needed tree-sitter or has no tree
        (the outcome's ``tree`` is None: see ``grammar``)."""
        with self._lock:
            return sorted((rel, p) for rel, p in self._outcomes.items() if p.grammar != "host")


def source_cache(ctx: Context) -> SourceCache:
    return ctx.memo("pysource:cache", SourceCache)


def python_tree(ctx: Context, rel: str, text: str | None = None) -> ast.Module | None:
    """The parsed tree of the repository file ``rel`` (None: unreadable or not Python)."""
    if text is None:
        text = ctx.read(rel)
        if text is None:
            return None
    return source_cache(ctx).get(rel, text).tree


def parse_notes(ctx: Context) -> list[tuple[str, ParsedSource]]:
    """(path, result) of every file parsed so far that needed tree-sitter or has no tree."""
    return source_cache(ctx).notes()
