"""Unrendered project templates: is the audited repository a cookiecutter, copier or Django
``startproject --template`` template rather than a project?

A template's Python modules hold ``{{ ... }}`` placeholders and ``{% ... %}`` tags; the one
parser (:mod:`prodaudit.pysource`) reads them with the placeholders as names (``grammar``
"template") or marks them unrendered. This module states once, for the report, that the
repository is a template and what says so (``template_repo``); CFG-005 reports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from prodaudit.pysource import source_cache

if TYPE_CHECKING:
    from prodaudit.context import Context

#: files whose presence at the top of the repository (or one folder down) makes it a template;
#: so does a templated folder (``{{cookiecutter.project_slug}}/``) there
MARKER_FILES = {"cookiecutter.json": "cookiecutter", "copier.yml": "copier",
                "copier.yaml": "copier"}
MARKER_DEPTH = 2  # path parts: ``cookiecutter.json`` or ``template/cookiecutter.json``


@dataclass(frozen=True)
class TemplateRepo:
    """What makes the repository a template: its ``kind`` and the ``marker`` path that says so (a
    marker file, a templated folder or a templated module), with the modules read with their
    placeholders as names (``rendered``) and those not readable even so (``unrendered``)."""

    kind: str  # "cookiecutter" | "copier" | "Django startproject" | "Jinja"
    marker: str
    rendered: tuple[str, ...] = ()
    unrendered: tuple[str, ...] = ()

    def note(self) -> str:
        read = (f"; {len(self.rendered)} Python module(s) read with their placeholders as names"
                if self.rendered else "")
        unread = f", {len(self.unrendered)} not readable even so" if self.unrendered else ""
        return (f"this repository is an unrendered {self.kind} project template ({self.marker})"
                f"{read}{unread}: what it deploys depends on the values it is rendered with; "
                "render it first and audit the result")


def _kind(text: str) -> str:
    if "cookiecutter." in text:
        return "cookiecutter"
    if "project_name" in text or "app_name" in text:
        return "Django startproject"
    return "Jinja"


def _marker(ctx: Context) -> tuple[str, str]:
    """(kind, path) of a marker file, else of the first templated folder; ("", "") without."""
    folder = ("", "")
    for rel in ctx.files.files:
        ps = rel.split("/")
        if len(ps) <= MARKER_DEPTH and ps[-1] in MARKER_FILES:
            return MARKER_FILES[ps[-1]], rel
        folders = ps[:-1][:MARKER_DEPTH]  # a template nested deeper is one the project ships
        templated = next((i for i, p in enumerate(folders) if "{{" in p and "}}" in p), None)
        if templated is not None and not folder[0]:
            folder = _kind(ps[templated]), "/".join(ps[:templated + 1]) + "/"
    return folder


def template_repo(ctx: Context) -> TemplateRepo | None:
    """The repository as a template, None when nothing marks it as one. Reads the Python parse
    outcomes recorded so far: call it after the modules were parsed (the env graph)."""
    rendered: list[str] = []
    unrendered: list[str] = []
    for rel, parsed in source_cache(ctx).notes():
        if parsed.template:
            (unrendered if parsed.unrendered else rendered).append(rel)
    kind, marker = _marker(ctx)
    if not marker and (rendered or unrendered):
        marker = (rendered + unrendered)[0]
        kind = _kind(ctx.read(marker) or "")
    if not marker:
        return None
    return TemplateRepo(kind, marker, tuple(rendered), tuple(unrendered))
