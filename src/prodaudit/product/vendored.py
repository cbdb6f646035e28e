"""Copied third-party files: what of a repository's frontend files (and source maps) is a
library's distribution rather than the product's own code. Not a check module.

The rules are conservative: each names a mark a distribution carries and the product's own
sources do not — a licence banner naming a version, a release number or packer suffix in the
file name, Django's collected static of an installed third-party app, a library's package index
copied out of its tree, a source map of a bannered bundle or of ``node_modules`` only.
"""

from __future__ import annotations

import ast
import posixpath
import re
from collections.abc import Collection
from typing import TYPE_CHECKING

from prodaudit.errors import InputError
from prodaudit.loaders import load_json
from prodaudit.product.pyindex import py_index

if TYPE_CHECKING:
    from prodaudit.context import Context

#: the banner a distributed third-party bundle starts with: a comment (``/*!`` is the convention
#: minifiers keep) naming a version and a licence or copyright — "Materialize v0.100.1 ... MIT
#: License", "jQuery v3.2.1 | (c) JS Foundation". The product's own sources are judged, not these.
_BANNER = re.compile(r"\A\s*/\*[!*]?(?:(?!\*/).){0,600}?\*/", re.S)
_BANNER_VERSION = re.compile(r"\bv?\d+\.\d+(?:\.\d+)?\b")
_BANNER_LICENCE = re.compile(r"licen[cs]e|copyright|\(c\)", re.I)
#: a file name carrying a release number is a copied distribution file: ``coreapi-0.1.0.js``,
#: ``jquery-1.12.4.js``, ``vue@2.6.14.js``, ``lodash.4.17.21.js`` (major.minor at least)
_VERSIONED_NAME = re.compile(r"[-_.@]v?\d+\.\d+(?:\.\d+)*(?:[-.][0-9A-Za-z]+)?\.[cm]?js$")
#: minifier and packer output under other spellings than ``.min.``: ``prettify-min.js``,
#: ``highlight.pack.js``
_PACKED_NAME = re.compile(r"[-_.](?:min|pack|packed)\.[cm]?js$", re.I)
#: the folders a Django project collects or keeps its static files in (STATIC_ROOT,
#: STATICFILES_DIRS)
STATIC_DIRS = frozenset({"static", "staticfiles", "static_root", "static_collected",
                         "collected_static", "collectstatic"})
#: static namespaces of Django contrib and widely used third-party Django apps, for apps whose
#: directory differs from the package (``static/drf-yasg/``) or which a project copies without
#: listing them; used in Django projects only
KNOWN_APP_STATIC = frozenset({
    "admin", "gis", "rest_framework", "rest_framework_swagger", "drf-yasg",
    "drf_spectacular_sidecar", "debug_toolbar", "django_extensions", "grappelli", "jazzmin",
    "import_export", "django_select2", "admin_interface", "ckeditor", "ckeditor5",
    "django_ckeditor_5", "tinymce", "silk", "oauth2_provider", "wagtailadmin", "wagtaildocs",
    "wagtailimages", "wagtailsnippets", "wagtailusers", "nested_admin", "autocomplete_light",
    "colorfield", "django_tables2", "leaflet", "mptt", "simple_history"})
_APP_CONFIG = re.compile(r"^(?:apps|app)$|^[A-Z]")
_IMPORT_ONLY_LINE = re.compile(
    r"""^\s*(?:(?:var|let|const)\s+[\w$]+\s*=\s*)?require\s*\(\s*(["'])(?P<r>[^"']+)\1\s*\)"""
    r"""\s*;?\s*$|^\s*import\s+(?:[^'";]+\s+from\s+)?(["'])(?P<i>[^"']+)\3\s*;?\s*$""")
_JS_COMMENTS = re.compile(r"/\*.*?\*/|^\s*//[^\n]*", re.S | re.M)
_JS_EXT = (".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx")
#: where a source map's ``sources`` point when they are a library's own tree
_LIBRARY_TREES = re.compile(r"(^|/)(node_modules|bower_components)/|^webpack/(bootstrap|runtime)"
                            r"|^\(webpack\)|^webpack:///(\(webpack\)|webpack/|\./node_modules/)")


def is_vendored_bundle(text: str) -> bool:
    """A copied third-party library (see ``_BANNER``): its opening comment names a version and
    a licence, or it is a ``/*!`` banner with a version."""
    m = _BANNER.match(text)
    if not m or not _BANNER_VERSION.search(m.group(0)):
        return False
    return m.group(0).lstrip().startswith("/*!") or bool(_BANNER_LICENCE.search(m.group(0)))


def _parts(rel: str) -> tuple[str, ...]:
    return tuple(rel.split("/"))


def _django_apps(ctx: Context) -> tuple[bool, set[str]]:
    """(is a Django project, the entries of ``INSTALLED_APPS`` and of the ``*_APPS`` lists
    assigned next to it)."""
    django = any(rel.rsplit("/", 1)[-1] == "manage.py" for rel in ctx.files.files)
    apps: set[str] = set()
    for module in py_index(ctx):
        if "INSTALLED_APPS" not in module.names:
            continue  # the assignment below names it
        tree = module.tree
        names = [t for n in tree.body if isinstance(n, ast.Assign | ast.AugAssign | ast.AnnAssign)
                 for t in (n.targets if isinstance(n, ast.Assign) else [n.target])]
        if not any(isinstance(t, ast.Name) and t.id == "INSTALLED_APPS" for t in names):
            continue
        django = True
        for node in tree.body:
            if not isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign) or \
                    node.value is None:
                continue
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id.endswith("APPS") for t in targets):
                apps.update(c.value for c in ast.walk(node.value)
                            if isinstance(c, ast.Constant) and isinstance(c.value, str))
    return django, apps


def app_static_names(entry: str) -> tuple[str, set[str]]:
    """(top-level package, static namespaces) of an INSTALLED_APPS entry: its module's first and
    last component (``django.contrib.admin`` -> admin, ``rest_framework``), and both joined for
    a two-part module (``wagtail.admin`` -> wagtailadmin); a trailing ``apps.XConfig`` is
    dropped."""
    comps = [c for c in entry.strip().split(".") if c]
    while len(comps) > 1 and _APP_CONFIG.match(comps[-1]):
        comps.pop()
    if not comps:
        return "", set()
    names = {comps[0], comps[-1]}
    if len(comps) == 2:
        names.add(comps[0] + comps[1])
    return comps[0], names


def package_dirs(ctx: Context) -> frozenset[str]:
    """Paths of the repository's Python package folders (a folder with ``__init__.py``)."""
    return ctx.memo("product:package_dirs", lambda: frozenset(
        rel.rsplit("/", 1)[0] if "/" in rel else "" for rel in ctx.files.files
        if rel.rsplit("/", 1)[-1] == "__init__.py"))


def third_party_static(ctx: Context) -> frozenset[str]:
    """Static namespaces (``static/<name>/``) of installed third-party Django apps: named after
    an ``INSTALLED_APPS`` entry whose package is not in the repository, or a well-known app's
    (``KNOWN_APP_STATIC``) unless the repository has a package of that name. Empty outside
    Django projects (a ``manage.py`` or an ``INSTALLED_APPS`` assignment)."""

    def build() -> frozenset[str]:
        django, apps = _django_apps(ctx)
        if not django:
            return frozenset()
        own = {posixpath.basename(d) for d in package_dirs(ctx) if d}
        names: set[str] = set(KNOWN_APP_STATIC)
        for entry in apps:
            top, static_names = app_static_names(entry)
            if top and top not in own:
                names |= static_names
        return frozenset(names - own)

    return ctx.memo("product:third_party_static", build)


def third_party_reason(ctx: Context, rel: str, text: str | None = None) -> str:
    """Why the frontend file ``rel`` is a copied third-party file, or '' when it is the
    product's own: a versioned file name (``coreapi-0.1.0.js``), packer output (``x-min.js``,
    ``x.pack.js``), Django's collected static of an installed third-party app
    (``static/<app>/...`` with ``<app>`` from ``third_party_static``, the ``static`` folder not
    inside one of the project's Python packages — where an app keeps its own files and may
    override a library's), or (given ``text``) a licence banner naming a version."""
    name = rel.rsplit("/", 1)[-1]
    if _VERSIONED_NAME.search(name):
        return "versioned file name"
    if _PACKED_NAME.search(name):
        return "minified/packed file name"
    p = _parts(rel)
    if any(part in STATIC_DIRS for part in p[:-2]):
        namespaces = third_party_static(ctx)
        packages = package_dirs(ctx)
        for i, part in enumerate(p[:-2]):
            if part in STATIC_DIRS and p[i + 1] in namespaces and "/".join(p[:i]) not in packages:
                return f"static files of the installed Django app '{p[i + 1]}'"
    if text is not None and is_vendored_bundle(text):
        return "licence banner with a version"
    return ""


def copied_package_index(rel: str, text: str, files: Collection[str]) -> bool:
    """A file that only requires/imports relative modules, none of which is in the repository
    (``require('../../js/alert.js')``): a library's generated index copied out of its tree, such
    as Bootstrap's ``dist/js/npm.js``."""
    targets: list[str] = []
    for line in _JS_COMMENTS.sub("", text).splitlines():
        if not line.strip():
            continue
        m = _IMPORT_ONLY_LINE.match(line)
        if not m:
            return False
        targets.append(m.group("r") or m.group("i"))
    if not targets or not all(t.startswith(".") for t in targets):
        return False
    base = posixpath.dirname(rel)
    for t in targets:
        target = posixpath.normpath(posixpath.join(base, t))
        if any(c in files for c in (target, *(target + e for e in _JS_EXT), target + "/index.js")):
            return False
    return True


def library_source_map(ctx: Context, rel: str) -> str:
    """Why the source map ``rel`` reveals no application source, or '': the file it maps (its
    ``file`` field, else its name without ``.map``, next to it) starts with a licence banner
    naming a version (a vendored library's own map), or every entry of its ``sources`` lies in
    a library tree (``node_modules/``, ``bower_components/``, webpack's runtime)."""
    folder = posixpath.dirname(rel)
    generated = posixpath.join(folder, rel.rsplit("/", 1)[-1][: -len(".map")])
    text = ctx.read(rel)
    data: object = None
    if text is not None:
        try:
            data = load_json(text, rel)
        except InputError:
            data = None
    if isinstance(data, dict) and isinstance(data.get("file"), str) and data["file"]:
        named = posixpath.normpath(posixpath.join(folder, data["file"]))
        if named in ctx.files.files:
            generated = named
    if generated in ctx.files.files and is_vendored_bundle(ctx.read(generated) or ""):
        return f"maps {generated}, a vendored library (licence banner with a version)"
    sources = data.get("sources") if isinstance(data, dict) else None
    if isinstance(sources, list) and sources and all(
            isinstance(s, str) and _LIBRARY_TREES.search(s.lstrip("./")) for s in sources):
        return f"all {len(sources)} sources in a library tree (node_modules/ ...)"
    return ""
