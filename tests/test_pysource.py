"""prodaudit.pysource: one parser for any Python syntax (host ast, then tree-sitter)."""

from __future__ import annotations

import ast
import textwrap

import pytest

from prodaudit.pysource import SourceCache, parse_python

pytest.importorskip("tree_sitter_python")

MODERN = textwrap.dedent('''\
    import os

    type Point[T] = tuple[T, T]

    def first[T: int, *Ts, **P](x: list[T]) -> T:
        return x[0]

    class Box[T](Base):
        secret = os.getenv("BOX_SECRET", "box-default")

    greeting = f"{user["name"]} says {'\\n'.join(lines)}"
    multi = f"{
        a  # a comment
        + b
    }"
    try:
        pass
    except ValueError, TypeError:
        pass
    tmpl = t"hello {name}"
    SECRET_KEY = "after-everything"
''')


def _assigns(tree: ast.Module) -> dict[str, int]:
    return {t.id: node.lineno for node in ast.walk(tree) if isinstance(node, ast.Assign)
            for t in node.targets if isinstance(t, ast.Name)}


def test_host_syntax_parses_with_the_host_grammar() -> None:
    parsed = parse_python("X = 1\n")
    assert parsed.grammar == "host" and parsed.tree is not None and not parsed.note


def test_modern_syntax_keeps_every_statement_at_its_line() -> None:
    with pytest.raises(SyntaxError):
        ast.parse(MODERN)  # the host (3.11) rejects it: the fallback is exercised
    parsed = parse_python(MODERN, "app/modern.py")
    assert parsed.grammar == "modern" and parsed.tree is not None
    assert "tree-sitter" in parsed.note and "line" in parsed.note
    lines = _assigns(parsed.tree)
    src = MODERN.splitlines()
    for name in ("Point", "greeting", "multi", "tmpl", "SECRET_KEY"):
        assert src[lines[name] - 1].lstrip().startswith(("type " + name, name)), name
    call = next(n for n in ast.walk(parsed.tree) if isinstance(n, ast.Call)
                and ast.unparse(n.func) == "os.getenv")
    assert MODERN.splitlines()[call.lineno - 1].strip().startswith("secret =")
    funcs = {n.name: n.lineno for n in ast.walk(parsed.tree)
             if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    assert funcs == {"first": 5, "Box": 8}
    fstring = next(n for n in ast.walk(parsed.tree) if isinstance(n, ast.JoinedStr))
    assert "user" in ast.unparse(fstring)  # the interpolated expression is kept


def test_python2_print_statements_are_skipped_not_the_file() -> None:
    parsed = parse_python('print "hello"\nDEBUG = True\n')
    assert parsed.tree is not None
    assert _assigns(parsed.tree) == {"DEBUG": 2}


def test_a_real_syntax_error_blanks_only_its_statement() -> None:
    parsed = parse_python("A = 1\ndef broken(:\n    pass\nB = 2\n")
    assert parsed.tree is not None and parsed.grammar == "modern"
    assert _assigns(parsed.tree) == {"A": 1, "B": 4}
    assert "skipped" in parsed.note


def test_nul_bytes_are_not_python() -> None:
    parsed = parse_python("A = 1\x00\n")
    assert parsed.tree is None and parsed.grammar == "none" and parsed.note


def test_source_cache_keeps_outcomes_and_a_bounded_number_of_trees() -> None:
    cache = SourceCache(size=2)
    files = {f"m{i}.py": f"x{i} = {i}\n" for i in range(5)}
    files["bad.py"] = "def broken(:\n"
    for rel, text in files.items():
        cache.get(rel, text)
    assert len(cache._trees) == 2  # the two most recent parses
    old = cache.outcome("m0.py")
    assert old is not None and old.parsed and old.tree is None and old.grammar == "host"
    assert [rel for rel, p in cache.notes()] == ["bad.py"]
    again = cache.get("m0.py", files["m0.py"])  # parsed again: the same module
    assert again.tree is not None and ast.dump(again.tree) == ast.dump(ast.parse(files["m0.py"]))
    assert cache.outcome("nothing.py") is None


TEMPLATED = textwrap.dedent('''\
    import os
    from {{ project_name }}.views import home
    {% if use_celery %}
    BROKER = os.environ["CELERY_BROKER_URL"]
    {%- endif %}
    {# a template comment #}
    ROOT_URLCONF = "{{ cookiecutter.project_slug|lower }}.urls"
    SECRET_KEY = os.getenv("SECRET_KEY", "dev")
''')


def test_unrendered_template_is_read_with_placeholders_as_names() -> None:
    parsed = parse_python(TEMPLATED, "project_name/settings.py")
    assert parsed.tree is not None and parsed.grammar == "template" and parsed.template
    assert not parsed.unrendered and parsed.line == 2
    assigns = _assigns(parsed.tree)
    assert assigns == {"BROKER": 4, "ROOT_URLCONF": 7, "SECRET_KEY": 8}  # lines exact
    imp = next(n for n in parsed.tree.body if isinstance(n, ast.ImportFrom))
    # an identifier of the placeholder's length: columns stay exact too
    assert imp.module is not None and len(imp.module) == len("{{ project_name }}.views")
    assert imp.module.startswith("project_name")


def test_template_that_does_not_parse_even_rendered_is_marked_unrendered() -> None:
    parsed = parse_python('import os\nDEBUG = {% if debug %}True{% else %}False{% endif %}\n')
    assert parsed.tree is None and parsed.unrendered and parsed.line == 2
    assert parsed.note.startswith("template not rendered")


def test_a_real_syntax_error_is_not_taken_for_a_template() -> None:
    # an escaped brace in an f-string is no template; the error is on a line without one
    parsed = parse_python('GREETING = f"{{name}}"\nif True\n    x = 1\n')
    assert not parsed.template and parsed.grammar != "template"
    assert "template" not in parsed.note


def test_source_cache_keeps_the_template_outcome() -> None:
    cache = SourceCache()
    cache.get("a.py", "X = {% if a %}1{% else %}2{% endif %}\n")
    cache.get("b.py", TEMPLATED)
    outcomes = dict(cache.notes())
    assert outcomes["a.py"].unrendered and outcomes["b.py"].template
    assert outcomes["b.py"].grammar == "template" and not outcomes["b.py"].unrendered
