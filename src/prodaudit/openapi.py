"""OpenAPI discovery and parsing (3.0 and 3.1): find the document, list every operation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prodaudit.errors import InputError, ProdauditError
from prodaudit.http import Exchange, Http, join_url
from prodaudit.loaders import MAX_YAML_NODES, load_json, load_yaml, read_document

CANDIDATE_PATHS = (
    "/openapi.json",
    "/api/openapi.json",
    "/api/v1/openapi.json",
    "/v1/openapi.json",
    "/docs/openapi.json",
    "/swagger.json",
    "/api/swagger.json",
    "/apispec_1.json",
    "/openapi.yaml",
)
METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")
# the document a docs page loads: SwaggerUI ``url: '/openapi.json'`` (FastAPI with another
# openapi_url: ``url: '/api'``), ReDoc/RapiDoc ``spec-url="…"``, Elements ``apiDescriptionUrl="…"``
DOC_LINK = re.compile(
    r"""(?<![\w-])(?:url|spec-url|specUrl|apiDescriptionUrl)\s*[:=]\s*['"]"""
    r"""(/[^'"\s]*|[^'"\s:]+\.(?:json|ya?ml))['"]""", re.I
)
SAFE_METHODS = frozenset({"get", "head", "options"})


MAX_RESOLVED_NODES = MAX_YAML_NODES  # nodes one ``resolve`` may build ($ref expansion bomb)


class OpenAPIError(ProdauditError):
    """The document could not be found or parsed. ``broken`` lists candidate URLs that answered
    200 with something that is not an OpenAPI document (garbage, truncated, invalid).

    A document refused by the bounded loaders (an alias or ``$ref`` expansion bomb, too large)
    is an :class:`InputError` naming it instead: the checks that need it are ERROR, not SKIP."""

    def __init__(self, message: str, broken: list[str] | None = None) -> None:
        super().__init__(message)
        self.broken = list(broken or [])


@dataclass(frozen=True)
class Operation:
    method: str  # upper case
    path: str
    operation_id: str
    summary: str
    tags: tuple[str, ...]
    parameters: tuple[dict[str, Any], ...]
    request_body: dict[str, Any] | None
    responses: dict[str, Any]
    security: tuple[dict[str, Any], ...] | None  # None: inherits the global default

    @property
    def safe(self) -> bool:
        return self.method.lower() in SAFE_METHODS

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def path_params(self) -> list[dict[str, Any]]:
        return [p for p in self.parameters if p.get("in") == "path"]


@dataclass
class OpenAPIDoc:
    spec: dict[str, Any]
    source: str  # URL or file path
    operations: list[Operation] = field(default_factory=list)

    @property
    def version(self) -> str:
        return str(self.spec.get("openapi") or self.spec.get("swagger") or "")

    @property
    def security_schemes(self) -> dict[str, Any]:
        comps = self.spec.get("components") or {}
        return dict(comps.get("securitySchemes") or self.spec.get("securityDefinitions") or {})

    def is_protected(self, op: Operation) -> bool:
        sec = op.security if op.security is not None else tuple(self.spec.get("security") or ())
        return any(bool(req) or req == {} for req in sec) and not any(req == {} for req in sec)

    def resolve(self, node: Any, depth: int = 0) -> Any:
        """Resolve local ``$ref`` pointers (bounded depth, cycles left as-is). A document whose
        references expand past MAX_RESOLVED_NODES nodes is refused (:class:`InputError`)."""
        return self._resolve(node, depth, [0])

    def _resolve(self, node: Any, depth: int, built: list[int]) -> Any:
        built[0] += 1
        if built[0] > MAX_RESOLVED_NODES:
            raise InputError(self.source, f"$ref expansion exceeds {MAX_RESOLVED_NODES} nodes "
                                          "(reference expansion bomb?); refused")
        if depth > 20:
            return node
        if isinstance(node, dict):
            if "$ref" in node and isinstance(node["$ref"], str) and node["$ref"].startswith("#/"):
                target: Any = self.spec
                for part in node["$ref"][2:].split("/"):
                    part = part.replace("~1", "/").replace("~0", "~")
                    if not isinstance(target, dict) or part not in target:
                        return node
                    target = target[part]
                return self._resolve(target, depth + 1, built)
            return {k: self._resolve(v, depth + 1, built) for k, v in node.items()}
        if isinstance(node, list):
            return [self._resolve(v, depth + 1, built) for v in node]
        return node

    def token_url(self) -> str | None:
        """``tokenUrl`` of an OAuth2 password flow, if declared."""
        for scheme in self.security_schemes.values():
            if not isinstance(scheme, dict) or scheme.get("type") != "oauth2":
                continue
            flows = scheme.get("flows") or {}
            pw = flows.get("password") or {}
            if pw.get("tokenUrl"):
                return str(pw["tokenUrl"])
            if scheme.get("flow") == "password" and scheme.get("tokenUrl"):
                return str(scheme["tokenUrl"])
        return None

    def find(self, pattern: str, methods: tuple[str, ...] = ()) -> list[Operation]:
        rx = re.compile(pattern, re.I)
        return [
            op for op in self.operations
            if rx.search(op.path) and (not methods or op.method in methods)
        ]


def parse(spec: Any, source: str) -> OpenAPIDoc:
    if not isinstance(spec, dict):
        kind = type(spec).__name__
        raise OpenAPIError(f"{source}: not an OpenAPI document (top level is {kind})")
    if not ("openapi" in spec or "swagger" in spec):
        raise OpenAPIError(f"{source}: no 'openapi' or 'swagger' version field")
    paths = spec.get("paths")
    if paths is None and str(spec.get("openapi", "")).startswith("3.1"):
        paths = {}  # 3.1: paths are optional (webhooks-only documents)
    if not isinstance(paths, dict):
        raise OpenAPIError(f"{source}: 'paths' missing or not an object")
    doc = OpenAPIDoc(spec=spec, source=source)
    doc.operations = list(_operations(doc, paths))
    return doc


def _operations(doc: OpenAPIDoc, paths: dict[str, Any]) -> Iterator[Operation]:
    for path, item in paths.items():
        if not isinstance(item, dict):
            continue
        common = [p for p in item.get("parameters", []) if isinstance(p, dict)]
        for method in METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            params = {
                (p.get("in"), p.get("name")): p
                for p in (doc.resolve(x) for x in common + list(op.get("parameters", [])))
                if isinstance(p, dict)
            }
            body = op.get("requestBody")
            yield Operation(
                method=method.upper(),
                path=str(path),
                operation_id=str(op.get("operationId", "")),
                summary=str(op.get("summary") or op.get("description") or ""),
                tags=tuple(str(t) for t in op.get("tags", [])),
                parameters=tuple(params.values()),
                request_body=doc.resolve(body) if isinstance(body, dict) else None,
                responses=dict(op.get("responses") or {}),
                security=tuple(op["security"]) if isinstance(op.get("security"), list) else None,
            )


def load_text(text: str, source: str) -> OpenAPIDoc:
    """Parse a document through the bounded loaders. Not JSON nor YAML: :class:`OpenAPIError`;
    over a bound (size, alias or ``$ref`` expansion): :class:`InputError` naming ``source``."""
    try:
        data = load_json(text, source)
    except InputError as exc:
        if not exc.reason.startswith("invalid JSON"):
            raise
        try:
            data = load_yaml(text, source)
        except InputError as yexc:
            if not yexc.reason.startswith("invalid YAML"):
                raise
            raise OpenAPIError(f"{source}: neither JSON nor YAML: {yexc.reason}") from None
    return parse(data, source)


async def discover(
    http: Http, base_url: str, explicit: str | None
) -> tuple[OpenAPIDoc, list[Exchange]]:
    """Find the OpenAPI document: ``explicit`` (path or URL), else common paths and /docs links."""
    tried: list[Exchange] = []
    is_url = explicit is not None and explicit.startswith(("http://", "https://"))
    if explicit and not is_url and (not explicit.startswith("/") or Path(explicit).is_file()):
        path = Path(explicit)  # a file (an absolute path that exists, or a relative one)
        return load_text(read_document(path), str(path)), tried
    candidates = [explicit] if explicit else list(CANDIDATE_PATHS)
    broken: list[str] = []
    for cand in candidates:
        assert cand is not None
        ex = await http.get(join_url(base_url, cand), follow_redirects=True)
        tried.append(ex)
        if ex.status == 200 and ex.body:
            if ex.truncated:
                broken.append(f"{ex.url}: body larger than the {len(ex.body)} byte cap")
                if explicit:
                    raise OpenAPIError(broken[-1], broken)
                continue
            try:
                return load_text(ex.text, ex.url), tried
            except OpenAPIError as exc:
                broken.append(str(exc)[:300])
                if explicit:
                    raise OpenAPIError(str(exc), broken) from None
                continue
        if ex.status is None and not tried[:-1]:
            raise OpenAPIError(f"{ex.url}: {ex.error}")
    if not explicit:
        for page in ("/docs", "/redoc", "/swagger", "/api/docs"):
            ex = await http.get(join_url(base_url, page), follow_redirects=True)
            tried.append(ex)
            if ex.status != 200:
                continue
            m = DOC_LINK.search(ex.text)
            if m and not m.group(1).startswith(("http://", "https://", "//")):
                spec_ex = await http.get(join_url(base_url, m.group(1)), follow_redirects=True)
                tried.append(spec_ex)
                if spec_ex.status == 200 and not spec_ex.truncated:
                    try:
                        return load_text(spec_ex.text, spec_ex.url), tried
                    except OpenAPIError as exc:
                        broken.append(str(exc)[:300])
    where = ", ".join(sorted({e.url for e in tried})[:6])
    if broken:
        raise OpenAPIError(f"no valid OpenAPI document: {broken[0]}", broken)
    raise OpenAPIError(f"no OpenAPI document found (tried {len(tried)} URLs: {where})")
