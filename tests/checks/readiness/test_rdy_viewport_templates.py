"""RDY-026 judges a Django/Jinja2 child template (``{% extends %}``) by its ancestors' <head>.
Repositories are built in tmp_path."""

from __future__ import annotations

from pathlib import Path

from rdy_helpers import assert_status, messages, run_rdy, write

from prodaudit.model import Status

GOOD = '<meta name="viewport" content="width=device-width, initial-scale=1">'
NO_ZOOM = '<meta name="viewport" content="width=device-width, user-scalable=no">'


def base(head: str) -> str:
    return f"<!DOCTYPE html>\n<html>\n<head>\n{head}\n<title>x</title>\n</head>\n" \
           "<body>{% block content %}{% endblock %}</body>\n</html>\n"


CHILD = '<!-- banner -->\n{% extends "layout/basic.html" %}\n{% block content %}hi{% endblock %}\n'


def site(root: Path, head: str) -> Path:
    """A Django project: templates/layout/basic.html and an app's child index page."""
    write(root / "templates" / "layout" / "basic.html", base(head))
    write(root / "blog" / "templates" / "blog" / "index.html", CHILD)
    return root


def test_child_template_passes_on_its_parents_viewport(tmp_path: Path) -> None:
    r = run_rdy("RDY-026", repo=site(tmp_path / "s", GOOD))["RDY-026"]
    assert_status(r, Status.PASS)
    (f,) = r.findings
    assert f.location == "templates/layout/basic.html:4"
    assert "which blog/templates/blog/index.html extends" in f.message


def test_child_template_fails_when_no_ancestor_declares_one(tmp_path: Path) -> None:
    """A two-level chain (index -> section -> basic) without a viewport anywhere: FAIL naming
    the chain at the page."""
    repo = site(tmp_path / "s", "<meta charset='utf-8'>")
    write(repo / "templates" / "section.html",
          "{% extends 'layout/basic.html' %}{% block content %}{% endblock %}\n")
    write(repo / "blog" / "templates" / "blog" / "index.html",
          "{%- extends 'section.html' -%}\n{% block content %}hi{% endblock %}\n")
    r = run_rdy("RDY-026", repo=repo)["RDY-026"]
    assert_status(r, Status.FAIL)
    assert r.findings[0].location == "blog/templates/blog/index.html"
    assert "templates/section.html, templates/layout/basic.html" in messages(r)


def test_jinja2_index_template_inherits_a_zoom_blocking_viewport(tmp_path: Path) -> None:
    """index.jinja2 extending base.jinja2 whose viewport disables zooming: WARN at the parent."""
    repo = tmp_path / "s"
    write(repo / "app" / "templates" / "base.jinja2", base(NO_ZOOM))
    write(repo / "app" / "templates" / "index.jinja2", "{% extends 'base.jinja2' %}\n")
    r = run_rdy("RDY-026", repo=repo)["RDY-026"]
    assert_status(r, Status.WARN)
    assert r.findings[0].location == "app/templates/base.jinja2:4"


def test_unresolvable_parent_is_not_judged(tmp_path: Path) -> None:
    """A parent missing from the repository, or chosen at run time: SKIP (not a FAIL)."""
    repo = tmp_path / "s"
    write(repo / "templates" / "index.html", '{% extends "missing.html" %}\n')
    r = run_rdy("RDY-026", repo=repo)["RDY-026"]
    assert r.status is Status.SKIP, messages(r)
    assert "not found among the repository's templates" in messages(r)
    write(repo / "templates" / "index.html", "{% extends layout_name %}\n")
    r = run_rdy("RDY-026", repo=repo)["RDY-026"]
    assert r.status is Status.SKIP and "chosen at run time (layout_name)" in messages(r)
