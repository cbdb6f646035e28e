"""Unrendered Jinja/Django template text (cookiecutter, copier, ``django-admin startproject
--template``) read as the file it will become: placeholders as names, tag lines blank.

The one parser of Python source (:mod:`prodaudit.pysource`) and the Compose loader
(:mod:`prodaudit.product.compose_yaml`) retry a file they reject at a line holding a template tag
with :func:`render_placeholders`; what still does not parse is "template not rendered"
(:data:`TEMPLATE_NOT_RENDERED`), never a syntax error. Which repository is a template:
:mod:`prodaudit.product.templates`.
"""

from __future__ import annotations

import re

#: a Jinja/Django placeholder on one line: ``{{ project_name }}``, ``{{cookiecutter.slug|lower}}``
_PLACEHOLDER = re.compile(r"\{\{[^\n{}]*?\}\}")
#: a tag or comment: ``{% if x %}``, ``{%- endif -%}``, ``{# note #}``
_TAG = re.compile(r"\{%.*?%\}|\{#.*?#\}")
_TAG_LINE = re.compile(r"^[ \t]*(?:(?:\{%.*?%\}|\{#.*?#\})[ \t]*)+$", re.M)
#: what marks a rejected line as a template's
_TEMPLATE_TAG = re.compile(r"\{\{[^\n{}]*?\}\}|\{%-?\s*\w.*?%\}|\{#.*?#\}")
TEMPLATE_NOT_RENDERED = ("template not rendered: render it first (cookiecutter, copier, "
                         "django-admin startproject --template) and audit the result")


def has_template_tag(line: str) -> bool:
    """``line`` holds a template placeholder, tag or comment."""
    return bool(_TEMPLATE_TAG.search(line))


def line_text(text: str, line: int) -> str:
    """Line ``line`` (1-based) of ``text``, "" when there is none."""
    if line <= 0:
        return ""
    lines = text.split("\n", line)
    return lines[line - 1] if len(lines) >= line else ""


def render_placeholders(text: str) -> str:
    """``text`` with every ``{{ ... }}`` replaced by an identifier of the same length (its words
    joined by ``_``, padded with ``_``) and every line holding only ``{% ... %}`` or ``{# ... #}``
    tags blanked; a tag inside a line becomes spaces. Newlines and columns stay where they were."""

    def name(m: re.Match[str]) -> str:
        words = re.findall(r"[A-Za-z0-9_]+", m.group(0)[2:-2])
        ident = "_".join(words)
        ident = ident if ident[:1].isalpha() or ident[:1] == "_" else "_" + ident
        return ident[:len(m.group(0))].ljust(len(m.group(0)), "_")

    text = _TAG_LINE.sub("", text)
    text = _PLACEHOLDER.sub(name, text)
    return _TAG.sub(lambda m: " " * len(m.group(0)), text)
