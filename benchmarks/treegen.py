"""Deterministic synthetic repositories for the scan benchmarks.

A tree of N files shaped like a web product's repository: Python and JavaScript modules, JSON,
YAML, Markdown and text files (0.5–4 KB each, many lines mentioning tokens, keys and URLs so the
scanner's pre-filter cannot skip them), a few binaries, and one planted credential pair
(an AWS access key id and a GitHub token, random values) every ``plant_every`` files.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from pathlib import Path

FILES_PER_DIR = 100
_ALNUM = string.ascii_letters + string.digits
_UPPER = string.ascii_uppercase + string.digits

_PY = (
    "def {a}_{b}(request, token: str | None = None) -> dict:\n"
    "    \"\"\"Return the {b} of {a} for the current user.\"\"\"\n"
    "    url = settings.API_BASE_URL + \"/v1/{a}/{b}\"\n"
    "    headers = {{\"Authorization\": f\"Bearer {{token}}\"}}\n"
    "    api_key = os.environ.get(\"{A}_API_KEY\", \"\")\n"
    "    resp = client.get(url, headers=headers, timeout=10)\n"
    "    return {{\"{a}\": resp.json().get(\"{b}\", {n}), \"key\": api_key[:0]}}\n\n"
)
_JS = (
    "export async function {a}{B}(token) {{\n"
    "  const res = await fetch(`${{import.meta.env.VITE_API_URL}}/api/{a}/{b}`, {{\n"
    "    headers: {{ Authorization: `Bearer ${{token}}` }},\n"
    "  }});\n"
    "  if (!res.ok) throw new Error('{a} {b} failed: ' + res.status + ' {n}');\n"
    "  return res.json();\n"
    "}}\n\n"
)
_JSON = "  {{\"name\": \"{a}-{b}\", \"version\": \"1.{n}.0\", \"url\": \"https://example.com/{a}\"}},\n"
_YML = "  {a}_{b}:\n    image: \"example/{a}:1.{n}\"\n    environment:\n      {A}_TOKEN: ${{{A}_TOKEN}}\n"
_MD = "## {A} {b}\n\nSet `{A}_API_KEY` in the environment; see https://example.com/docs/{a} ({n}).\n\n"
_TXT = "{a} {b} {n} lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod\n"
KINDS: tuple[tuple[str, str], ...] = (
    (".py", _PY), (".py", _PY), (".py", _PY), (".py", _PY), (".js", _JS), (".js", _JS),
    (".json", _JSON), (".yml", _YML), (".md", _MD), (".txt", _TXT),
)  # fmt: skip


@dataclass(frozen=True)
class Tree:
    root: Path
    files: int
    bytes: int
    planted: int  # files holding one AWS access key id and one GitHub token each
    binaries: int


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 9)))


def make_tree(root: Path, n_files: int, *, seed: int = 1, plant_every: int = 1000) -> Tree:
    """Write ``n_files`` files under ``root`` (created); deterministic for a given seed."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
    total = planted = binaries = 0
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n_files):
        d = root / "src" / f"d{i // FILES_PER_DIR:04d}"
        if i % FILES_PER_DIR == 0:
            d.mkdir(parents=True, exist_ok=True)
        if i % 500 == 499:  # a few binaries: skipped by suffix
            data = b"\x89PNG\r\n\x1a\n" + rng.randbytes(rng.randint(500, 4000))
            (d / f"img{i}.png").write_bytes(data)
            total += len(data)
            binaries += 1
            continue
        suffix, tmpl = KINDS[i % len(KINDS)]
        target = rng.randint(500, 4000)
        parts: list[str] = []
        size = 0
        while size < target:
            a, b = _word(rng), _word(rng)
            chunk = tmpl.format(a=a, b=b, A=a.upper(), B=b.capitalize(), n=rng.randint(0, 999))
            parts.append(chunk)
            size += len(chunk)
        if i % plant_every == plant_every // 2:
            aws = "AKIA" + "".join(rng.choice(_UPPER) for _ in range(16))
            gh = "ghp_" + "".join(rng.choice(_ALNUM) for _ in range(36))
            parts.insert(len(parts) // 2, f"AWS_ACCESS_KEY_ID = \"{aws}\"\nGH = \"{gh}\"\n")
            planted += 1
        data = "".join(parts).encode()
        (d / f"m{i}{suffix}").write_bytes(data)
        total += len(data)
    return Tree(root=root, files=n_files, bytes=total, planted=planted, binaries=binaries)
