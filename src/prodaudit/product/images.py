"""Container image references: name, tag and digest, whether the tag names a version, and which
runtimes or services (with their versions) the image carries — ``python:3.11-slim-bookworm`` is
Python 3.11 on Debian 12, ``postgis/postgis:13-3.1`` is PostgreSQL 13, ``python:alpine3.8`` is
Alpine 3.8 with a floating Python. Not a check module."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: repository (last one or two path parts) → product of the end-of-life table
_REPO_PRODUCTS: dict[str, str] = {
    **dict.fromkeys(("python", "pypy"), "python"),
    **dict.fromkeys(("node", "nodejs"), "nodejs"),
    **dict.fromkeys(("postgres", "postgresql", "postgis", "timescaledb", "timescaledb-ha",
                     "pgvector"), "postgresql"),
    "mysql": "mysql", "mariadb": "mariadb", "redis": "redis", "mongo": "mongodb",
    "mongodb": "mongodb", "nginx": "nginx", "nginx-unprivileged": "nginx", "alpine": "alpine",
    "debian": "debian", "ubuntu": "ubuntu", "rabbitmq": "rabbitmq",
}
#: images whose tag carries another product's version (``pgvector/pgvector:pg16``)
_TAG_PREFIX = re.compile(r"^(?:pg|postgres|python|py|node)(\d+(?:\.\d+)*)$", re.I)
DEBIAN_CODENAMES = {"jessie": "8", "stretch": "9", "buster": "10", "bullseye": "11",
                    "bookworm": "12", "trixie": "13", "forky": "14"}
UBUNTU_CODENAMES = {"xenial": "16.04", "bionic": "18.04", "focal": "20.04", "jammy": "22.04",
                    "noble": "24.04", "oracular": "24.10", "plucky": "25.04", "questing": "25.10"}
#: distribution images whose codename tags are releases (a version), not floating names
_DISTROS = {"debian": DEBIAN_CODENAMES, "ubuntu": UBUNTU_CODENAMES}
_VERSION_TAG = re.compile(r"^v?\d")
_ALPINE_TOKEN = re.compile(r"^alpine(\d+\.\d+)")
_PY_TOKEN = re.compile(r"^python(\d+\.\d+)")
#: ``python`` images whose tag has no slim/alpine/distroless variant: the full Debian image with
#: compilers and headers (~1 GB)
FULL_IMAGES = frozenset({"python", "node", "golang", "rust", "openjdk", "eclipse-temurin",
                         "ruby", "php", "buildpack-deps"})
_LEAN_WORDS = ("slim", "alpine", "distroless", "minimal", "chiseled", "wolfi", "busybox")


@dataclass(frozen=True)
class ImageRef:
    """One image reference, e.g. ``ghcr.io/acme/app:1.2@sha256:…``."""

    raw: str
    repository: str  # without registry host: ``library/python`` → ``python``, ``bitnami/redis``
    tag: str  # "" when none
    digest: str  # "" when none

    @property
    def name(self) -> str:
        """The last path part: ``bitnami/redis`` → ``redis``."""
        return self.repository.rsplit("/", 1)[-1]

    @property
    def pinning(self) -> str:
        """``digest`` | ``none`` (no tag, means latest) | ``latest`` | ``floating`` (a tag that
        names no version: ``alpine``, ``lts``, ``stable``) | ``versioned``."""
        if self.digest:
            return "digest"
        if not self.tag:
            return "none"
        if self.tag == "latest":
            return "latest"
        return "versioned" if tag_is_versioned(self) else "floating"

    @property
    def full(self) -> bool:
        """A full language image (compilers and headers), not a slim/alpine variant."""
        return self.name in FULL_IMAGES and not any(w in self.tag for w in _LEAN_WORDS)


def parse_image(raw: str) -> ImageRef | None:
    """The reference of ``raw`` (None for ``scratch``, empty or unresolved ``${VAR}`` names)."""
    ref = raw.strip().strip("\"'")
    if not ref or "$" in ref or ref.lower() == "scratch" or " " in ref:
        return None
    ref, _, digest = ref.partition("@")
    parts = ref.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]  # a registry host
    path = "/".join(parts)
    tag = ""
    if ":" in parts[-1]:
        path, _, tag = path.rpartition(":")
    if path.startswith("library/"):
        path = path[len("library/"):]
    return ImageRef(raw.strip(), path.lower(), tag, digest)


def tag_is_versioned(img: ImageRef) -> bool:
    """The tag starts with a version (``3.12-slim``, ``v2.11``, ``pg16``) or, for a
    distribution image, names a release by its codename (``bookworm``, ``jammy``)."""
    first = re.split(r"[-_]", img.tag.lower(), maxsplit=1)[0]
    if _VERSION_TAG.match(first) or _TAG_PREFIX.match(first):
        return True
    codenames = _DISTROS.get(img.name)
    return bool(codenames and first in codenames)


@dataclass(frozen=True)
class Carried:
    """A product version an image carries."""

    product: str  # key of the end-of-life table
    version: str  # as written (``3.8``, ``9.6.15``, ``12``)


def carried(img: ImageRef) -> list[Carried]:
    """The runtimes and services ``img`` carries with a version its tag names: the image's own
    product (``python:3.8`` → python 3.8) and the base distribution of its variant
    (``-alpine3.8``, ``-bookworm``)."""
    out: list[Carried] = []
    tokens = [t for t in re.split(r"-", img.tag.lower()) if t]
    product = _REPO_PRODUCTS.get(img.name) or _REPO_PRODUCTS.get(img.repository)
    if product and tokens:
        first = tokens[0].lstrip("v")
        pref = _TAG_PREFIX.match(tokens[0])
        if re.match(r"^\d+(\.\d+)*$", first):
            out.append(Carried(product, first))
        elif pref and img.name in ("pgvector",):
            out.append(Carried(product, pref.group(1)))
        elif product in ("debian", "ubuntu") and tokens[0] in _DISTROS[product]:
            out.append(Carried(product, _DISTROS[product][tokens[0]]))
    for tok in tokens:
        m = _ALPINE_TOKEN.match(tok)
        if m and product != "alpine":
            out.append(Carried("alpine", m.group(1)))
        elif tok in DEBIAN_CODENAMES and product != "debian":
            out.append(Carried("debian", DEBIAN_CODENAMES[tok]))
        elif tok in UBUNTU_CODENAMES and product != "ubuntu":
            out.append(Carried("ubuntu", UBUNTU_CODENAMES[tok]))
        py = _PY_TOKEN.match(tok)
        if py and product != "python":  # ghcr.io/astral-sh/uv:python3.11-bookworm-slim
            out.append(Carried("python", py.group(1)))
    return out
