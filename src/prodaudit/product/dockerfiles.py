"""Dockerfiles parsed with dockerfile-parse, plus what it lacks: heredoc bodies folded back into
their ``RUN``/``COPY`` instruction, stages, and ``ARG`` substitution in ``FROM``.

Not a check module.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

from dockerfile_parse import DockerfileParser

from prodaudit.context import Context

_HEREDOC_RE = re.compile(r"<<-?\s*[\"']?([A-Za-z_][A-Za-z0-9_]*)[\"']?")
_ARG_REF_RE = re.compile(
    r"\$\{([A-Za-z_][A-Za-z0-9_]*)((?::?[-+])[^}]*)?\}|\$([A-Za-z_][A-Za-z0-9_]*)"
)
KNOWN = frozenset({
    "FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT",
    "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
})  # fmt: skip


@dataclass
class Instruction:
    name: str  # upper case
    value: str  # arguments, continuation lines joined
    line: int  # 1-based start line
    content: str  # original text (heredoc body included)


@dataclass
class Stage:
    index: int
    image: str  # as written (``${BASE_IMAGE}``)
    resolved: str  # after ARG defaults are substituted
    alias: str
    line: int
    instructions: list[Instruction] = field(default_factory=list)


@dataclass
class Dockerfile:
    path: str
    global_args: dict[str, str] = field(default_factory=dict)
    stages: list[Stage] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)

    @property
    def final(self) -> Stage | None:
        return self.stages[-1] if self.stages else None

    def loc(self, line: int) -> str:
        return f"{self.path}:{line}"

    @property
    def instructions(self) -> list[Instruction]:
        return [i for s in self.stages for i in s.instructions]


def is_dockerfile(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    low = name.lower()
    if low.endswith((".dockerignore", ".md", ".txt", ".py", ".sh", ".json", ".yml", ".yaml")):
        return False
    return low == "dockerfile" or low.startswith("dockerfile.") or low.endswith(".dockerfile") \
        or low.startswith("containerfile")


def _subst(text: str, args: dict[str, str]) -> str:
    def repl(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(3)
        raw = m.group(2) or ""
        cut = 2 if raw.startswith(":") else 1
        op, arg = (raw[:cut], raw[cut:]) if raw else ("", "")
        val = args.get(name, "")
        if op in (":-", "-"):
            return val or arg
        if op in (":+", "+"):
            return arg if val else ""
        return val

    return _ARG_REF_RE.sub(repl, text)


def parse_dockerfile(path: str, text: str) -> Dockerfile:
    df = Dockerfile(path)
    try:
        parser = DockerfileParser(fileobj=io.BytesIO(text.encode("utf-8")))
        structure = parser.structure
    except Exception as exc:  # the parser raises assorted errors on garbage
        df.problems.append((1, f"cannot parse: {exc}"))
        return df
    items = [s for s in structure if s["instruction"] != "COMMENT"]
    i = 0
    merged: list[Instruction] = []
    while i < len(items):
        s = items[i]
        name = s["instruction"].upper()
        value = s["value"]
        content = s["content"]
        i += 1
        m = _HEREDOC_RE.search(value) if name in ("RUN", "COPY", "ADD") else None
        if m:
            word = m.group(1)
            body = []
            while i < len(items):
                nxt = items[i]
                i += 1
                if nxt["content"].strip() == word:
                    break
                body.append(nxt["content"])
            else:
                df.problems.append((s["startline"] + 1, f"heredoc <<{word} is not terminated"))
            content = content + "".join(body)
            value = value + "\n" + "".join(body)
        elif name not in KNOWN:
            df.problems.append((s["startline"] + 1, f"unknown instruction {name}"))
            continue
        merged.append(Instruction(name, value, s["startline"] + 1, content))
    current: Stage | None = None
    for ins in merged:
        if ins.name == "FROM":
            parts = ins.value.split()
            parts = [p for p in parts if not p.startswith("--")]
            image = parts[0] if parts else ""
            alias = parts[2] if len(parts) >= 3 and parts[1].lower() == "as" else ""
            current = Stage(len(df.stages), image, _subst(image, df.global_args), alias, ins.line)
            df.stages.append(current)
            current.instructions.append(ins)
        elif current is None:
            if ins.name == "ARG":
                for k, v in _arg_pairs(ins.value):
                    df.global_args[k] = v
            else:
                df.problems.append((ins.line, f"{ins.name} before the first FROM"))
        else:
            current.instructions.append(ins)
    if not df.stages and not df.problems:
        df.problems.append((1, "no FROM instruction"))
    return df


def _arg_pairs(value: str) -> list[tuple[str, str]]:
    out = []
    for tok in value.split():
        k, _, v = tok.partition("=")
        out.append((k, v.strip("\"'")))
    return out


def dockerfiles(ctx: Context) -> list[Dockerfile]:
    def build() -> list[Dockerfile]:
        out = []
        for rel in ctx.files.files:
            if not is_dockerfile(rel):
                continue
            text = ctx.read(rel)
            if text is None:
                df = Dockerfile(rel)
                df.problems.append((0, "unreadable, binary or over the size cap"))
                out.append(df)
                continue
            out.append(parse_dockerfile(rel, text))
        return out

    return ctx.memo("cfg:dockerfiles", build)


def targets(df: Dockerfile, wanted: set[str] | None = None) -> list[Stage]:
    """Stages that can be built as images: not a base of a later stage and not a ``COPY
    --from`` source (plus any stage named as a Compose ``build.target``)."""
    used: set[str] = set()
    for st in df.stages:
        used.add(st.image.lower())
        for ins in st.instructions:
            for m in re.finditer(r"--from=(\S+)", ins.value):
                used.add(m.group(1).lower())
    out = []
    for st in df.stages:
        names = {st.alias.lower(), str(st.index)} - {""}
        if not names & used or (wanted and st.alias.lower() in wanted):
            out.append(st)
    return out or df.stages[-1:]


def chain(df: Dockerfile, stage: Stage) -> list[Stage]:
    """The stage and the earlier stages it is built FROM (nearest last)."""
    out = [stage]
    by_alias = {s.alias.lower(): s for s in df.stages if s.alias}
    cur = stage
    while cur.image.lower() in by_alias and len(out) < 50:
        cur = by_alias[cur.image.lower()]
        if cur in out:
            break
        out.append(cur)
    return list(reversed(out))


def last_instruction(df: Dockerfile, stage: Stage, name: str) -> Instruction | None:
    found = None
    for st in chain(df, stage):
        for ins in st.instructions:
            if ins.name == name:
                found = ins
    return found
