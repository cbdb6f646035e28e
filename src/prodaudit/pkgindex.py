"""The package index's yank marks for pinned versions (PEP 691 JSON simple API, PEP 592 yanks).

One ``GET <index>/<name>/`` with ``Accept: application/vnd.pypi.simple.v1+json`` per package; each
file of the answer carries ``yanked``: ``false`` or the reason (a string, or ``true``). A version
is yanked when every one of its files is (PEP 592: ``==`` still installs it, but its maintainers
withdrew it). Bounded: ``MAX_LOOKUPS`` packages per run, ``LOOKUP_SECONDS`` for all of them,
``REQUEST_SECONDS`` and ``MAX_ANSWER_BYTES`` per request; whether the index can be used at all is
decided once per run by the context's shared reachability probe (``Context.network_service``).
Answers are kept in the content-hash cache (``prodaudit.cache``, namespace ``INDEX_NS``) for
``INDEX_MAX_AGE`` seconds, and audit.json (``facts.package_index``) says how many requests were
sent, how many answers came from the cache, and what could not be looked up. Not a check module.
"""

from __future__ import annotations

import os
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from prodaudit.errors import InputError
from prodaudit.loaders import load_json

if TYPE_CHECKING:
    from prodaudit.context import Context

DEFAULT_INDEX = "https://pypi.org/simple/"
INDEX_VAR = "PRODAUDIT_PACKAGE_INDEX"
ACCEPT = "application/vnd.pypi.simple.v1+json"
MAX_LOOKUPS = 400  # packages looked up per run
LOOKUP_SECONDS = 90.0  # every lookup of the run together
REQUEST_SECONDS = 10.0
MAX_ANSWER_BYTES = 32 * 1024 * 1024  # the JSON page of a package with thousands of files
WORKERS = 4
INDEX_NS = "package-index"
INDEX_MAX_AGE = 12 * 3600.0


@dataclass(frozen=True)
class Yanks:
    """One package's answer: the versions the index lists, and the yanked ones with a reason."""

    versions: frozenset[str]
    yanked: dict[str, str]
    cached_at: float | None = None


@dataclass
class Lookup:
    """The answers of one run: by canonical name, and why the others are missing."""

    index: str
    answers: dict[str, Yanks] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)  # name -> why it was not looked up
    requests: int = 0
    from_cache: int = 0


def index_url(ctx: Context) -> str:
    """``package_index`` of the configuration, else ``$PRODAUDIT_PACKAGE_INDEX`` (the release
    manager's environment: a mirror), else PyPI."""
    url = ctx.cfg.package_index or os.environ.get(INDEX_VAR, "").strip() or DEFAULT_INDEX
    return url if url.endswith("/") else url + "/"


def _reachable(status: int, body: bytes) -> str | None:
    """The probe asks for ``pip`` (on every PyPI mirror): any answer but a server error will do."""
    return None if status < 500 else f"the package index answered HTTP {status}"


def index_unavailable(ctx: Context) -> str | None:
    """Why the package index cannot be used in this run (None: it answers); probed once."""
    url = index_url(ctx)
    return ctx.network_service("package-index", url + "pip/", expect=_reachable)


def _version_of(filename: str) -> str | None:
    try:
        if filename.endswith(".whl"):
            return str(parse_wheel_filename(filename)[1])
        return str(parse_sdist_filename(filename)[1])
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None


def parse_page(data: Any, source: str) -> Yanks:
    """The versions and yanks of one PEP 691 project page (``InputError`` when it is not one)."""
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        raise InputError(source, "not a PEP 691 project page (no `files` list)")
    files: dict[str, list[str | None]] = {}  # version -> each file's yank reason (None: not yanked)
    for f in data["files"]:
        if not isinstance(f, dict):
            continue
        version = _version_of(str(f.get("filename", "")))
        if version is None:
            continue
        mark = f.get("yanked", False)
        reason = None if mark is False or mark is None else (mark if isinstance(mark, str) and mark
                                                             else "no reason given")
        files.setdefault(version, []).append(reason)
    listed = {str(v) for v in data.get("versions") or [] if isinstance(v, str)}
    yanked = {v: next(r for r in reasons if r) for v, reasons in files.items()
              if reasons and all(reasons)}
    return Yanks(frozenset(listed | set(files)), yanked)


def _fetch(url: str) -> tuple[Yanks | None, str]:
    req = urllib.request.Request(url, headers={"Accept": ACCEPT, "User-Agent": "prodaudit"})  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=REQUEST_SECONDS) as resp:  # noqa: S310
            ctype = resp.headers.get("Content-Type", "")
            body = resp.read(MAX_ANSWER_BYTES + 1)
    except urllib.error.HTTPError as exc:
        return None, "not on the index (HTTP 404)" if exc.code == 404 else f"HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        return None, f"unreachable: {getattr(exc, 'reason', None) or exc}"
    if len(body) > MAX_ANSWER_BYTES:
        return None, f"answer over {MAX_ANSWER_BYTES // 2**20} MiB"
    if "json" not in ctype:
        return None, f"the index answered {ctype or 'no content type'}, not PEP 691 JSON"
    try:
        return parse_page(load_json(body, url, max_bytes=MAX_ANSWER_BYTES), url), ""
    except InputError as exc:
        return None, exc.reason


def _cached(ctx: Context, index: str, names: list[str]) -> tuple[dict[str, Yanks], dict[str, str]]:
    cache = ctx.cache()
    if cache is None:
        return {}, {}
    from prodaudit.cache import Cache, get_json

    keys = {name: Cache.key(index, name) for name in names}
    hits = get_json(cache, INDEX_NS, keys.values())
    out: dict[str, Yanks] = {}
    for name, key in keys.items():
        hit = hits.get(key)
        if isinstance(hit, dict) and time.time() - float(hit.get("at", 0)) < INDEX_MAX_AGE:
            out[name] = Yanks(frozenset(hit.get("versions", [])), dict(hit.get("yanked", {})),
                              cached_at=float(hit["at"]))
    return out, keys


def lookup(ctx: Context, names: list[str]) -> Lookup:
    """The index's answer for each of ``names`` (canonicalised), once per run."""
    wanted = sorted({str(canonicalize_name(n)) for n in names})
    return ctx.memo("package-index:" + ",".join(wanted), lambda: _lookup(ctx, wanted))


def _lookup(ctx: Context, names: list[str]) -> Lookup:
    index = index_url(ctx)
    out = Lookup(index)
    hits, keys = _cached(ctx, index, names)
    out.answers.update(hits)
    out.from_cache = len(hits)
    todo = [n for n in names if n not in hits]
    for n in todo[MAX_LOOKUPS:]:
        out.missing[n] = f"over the budget of {MAX_LOOKUPS} lookups per run"
    todo = todo[:MAX_LOOKUPS]
    lock = threading.Lock()

    def one(name: str) -> None:
        yanks, why = _fetch(f"{index}{name}/")
        with lock:
            out.requests += 1
            if yanks is None:
                out.missing[name] = why
            else:
                out.answers[name] = yanks
        if yanks is not None and keys:
            from prodaudit.cache import put_json

            put_json(ctx.cache(), INDEX_NS, keys[name], {
                "at": time.time(), "versions": sorted(yanks.versions), "yanked": yanks.yanked})

    if todo:
        queue = list(reversed(todo))
        deadline = time.monotonic() + LOOKUP_SECONDS

        def worker() -> None:  # daemon threads: a slow index never holds the process at exit
            while True:
                with lock:
                    if not queue or time.monotonic() > deadline:
                        return
                    name = queue.pop()
                one(name)

        threads = [threading.Thread(target=worker, name="package-index", daemon=True)
                   for _ in range(min(WORKERS, len(todo)))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        with lock:
            for n in todo:
                if n not in out.answers and n not in out.missing:
                    out.missing[n] = f"not answered within {LOOKUP_SECONDS:.0f} s for all lookups"
    ctx.export("package_index", {"index": index, "packages": len(names), "requests": out.requests,
                                 "from_cache": out.from_cache, "not_looked_up": len(out.missing)})
    return out


def is_listed(yanks: Yanks, version: str) -> bool:
    """``version`` is one the index lists (compared as versions: ``1.0`` is ``1.0.0``)."""
    if version in yanks.versions:
        return True
    try:
        want = Version(version)
    except InvalidVersion:
        return False
    for v in yanks.versions:
        try:
            if Version(v) == want:
                return True
        except InvalidVersion:
            continue
    return False


def yank_reason(yanks: Yanks, version: str) -> str | None:
    """Why ``version`` is yanked (None: it is not)."""
    if version in yanks.yanked:
        return yanks.yanked[version]
    try:
        want = Version(version)
    except InvalidVersion:
        return None
    for v, reason in yanks.yanked.items():
        try:
            if Version(v) == want:
                return reason
        except InvalidVersion:
            continue
    return None
