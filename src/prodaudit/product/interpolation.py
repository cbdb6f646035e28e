"""Compose-style ``${VAR}`` interpolation: the references in a string and their substitution."""

from __future__ import annotations

import re
from dataclasses import dataclass

_REF_RE = re.compile(
    r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\}"
    r"|([A-Za-z_][A-Za-z0-9_]*))"
)


@dataclass(frozen=True)
class VarRef:
    """One ``${NAME...}`` reference in a Compose value."""

    name: str
    op: str  # "", ":-", "-", ":?", "?", ":+", "+"
    arg: str

    @property
    def required(self) -> bool:
        return self.op in (":?", "?")

    @property
    def default(self) -> str | None:
        return self.arg if self.op in (":-", "-") else None


def var_refs(text: str) -> list[VarRef]:
    """Variable references in a Compose string (``$$`` escapes are ignored)."""
    text = text.replace("$$", "")
    out = []
    for m in _REF_RE.finditer(text):
        if m.group(4):
            out.append(VarRef(m.group(4), "", ""))
        else:
            out.append(VarRef(m.group(1), m.group(2) or "", m.group(3) or ""))
            out.extend(var_refs(m.group(3) or ""))
    return out


def interpolate(text: str, env: dict[str, str], missing: bool = False) -> str:
    """Compose interpolation with ``env``; unset variables without default become empty, or
    ``<NAME>`` with ``missing=True`` (a value that will be provided but is unknown here)."""

    def repl(m: re.Match[str]) -> str:
        if m.group(4):
            return env.get(m.group(4), f"<{m.group(4)}>" if missing else "")
        name, op, arg = m.group(1), m.group(2) or "", m.group(3) or ""
        val = env.get(name)
        if val is None and missing and op in ("", ":?", "?"):
            return f"<{name}>"
        if op == ":-":
            return val if val else interpolate(arg, env, missing)
        if op == "-":
            return val if val is not None else interpolate(arg, env, missing)
        if op == ":+":
            return interpolate(arg, env, missing) if val else ""
        if op == "+":
            return interpolate(arg, env, missing) if val is not None else ""
        return val or ""

    parts = text.split("$$")
    return "$".join(_REF_RE.sub(repl, p) for p in parts)
