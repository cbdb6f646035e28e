"""The Alembic replay (unit tests of parsing): the schema a migration chain produces, read from
source, and what makes a table or the whole schema unknown."""

from __future__ import annotations

import ast
import textwrap

from prodaudit.product.alembic_replay import MigratedSchema, RevisionSource, replay


def rev(rev: str, down: str | None, upgrade: str, rel: str = "", extra: str = "") -> RevisionSource:
    text = (f"from alembic import op\nimport sqlalchemy as sa\n{extra}\n"
            f"def upgrade():\n{textwrap.indent(textwrap.dedent(upgrade), '    ')}\n")
    return RevisionSource(rev, (down,) if down else (), rel or f"v/{rev}.py", ast.parse(text))


def columns(schema: MigratedSchema) -> dict[str, list[str]]:
    return {name: list(t.columns) for name, t in schema.tables.items()}


CREATE = """\
op.create_table(
    "users",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("email", sa.String(50)),
    sa.PrimaryKeyConstraint("id"),
)
"""


def test_operations_replay_in_revision_order_not_file_order() -> None:
    later = rev("b2", "a1", """\
op.add_column("users", sa.Column("nick", sa.String()))
op.drop_column("users", "email")
op.alter_column("users", "id", new_column_name="user_id")
op.rename_table("users", "accounts")
op.create_table("gone", sa.Column("x", sa.Integer()))
op.drop_table("gone")
""")
    schema = replay([later, rev("a1", None, CREATE)])
    assert {k: set(v) for k, v in columns(schema).items()} == {"accounts": {"user_id", "nick"}}
    assert not schema.unknown and not schema.blocked
    assert str(schema.tables["accounts"].columns["nick"]) == "v/b2.py:5"


def test_batch_blocks_and_local_helper_functions() -> None:
    second = rev("b2", "a1", """\
with op.batch_alter_table("users", schema=None) as batch_op:
    batch_op.add_column(sa.Column("age", sa.Integer()))
    batch_op.drop_column("email")
    batch_op.alter_column("id", new_column_name="pk", existing_type=sa.Integer())
add_flag()
""", extra="def add_flag():\n    op.add_column('users', sa.Column('flag', sa.Boolean()))\n")
    schema = replay([rev("a1", None, CREATE), second])
    assert {k: set(v) for k, v in columns(schema).items()} == {"users": {"age", "pk", "flag"}}
    assert not schema.blocked


def test_sql_that_changes_a_table_makes_it_unknown_and_data_sql_does_not() -> None:
    second = rev("b2", "a1", """\
op.execute("UPDATE users SET email = lower(email)")
op.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pgcrypto"))
op.execute("ALTER TABLE users ADD COLUMN note text")
""")
    schema = replay([rev("a1", None, CREATE), second])
    assert set(schema.unknown) == {"users"}
    assert "v/b2.py:7" in schema.unknown["users"] and "SQL" in schema.unknown["users"]
    assert not schema.blocked


def test_what_the_replay_cannot_follow_blocks_or_marks_the_table() -> None:
    dynamic = rev("b2", "a1", """\
op.execute(build_sql())
for name in ("a", "b"):
    op.add_column(name, sa.Column("x", sa.Integer()))
if True:
    op.add_column("users", sa.Column("maybe", sa.Integer()))
make_tables()
""")
    schema = replay([rev("a1", None, CREATE), dynamic])
    assert any("op.execute() with SQL that is not a literal" in b for b in schema.blocked)
    assert any("make_tables()" in b for b in schema.blocked)
    assert any("not a literal" in b for b in schema.blocked)  # add_column(name, ...)
    assert "conditionally" in schema.unknown["users"]
    assert "maybe" not in schema.tables["users"].columns


def test_multi_database_template_replays_every_engine_function() -> None:
    text = textwrap.dedent("""\
        from alembic import op
        import sqlalchemy as sa

        def upgrade(engine_name):
            globals()["upgrade_%s" % engine_name]()

        def upgrade_():
            op.create_table("t", sa.Column("id", sa.Integer()))
        """)
    schema = replay([RevisionSource("a1", (), "v/a1.py", ast.parse(text))])
    assert columns(schema) == {"t": ["id"]} and not schema.blocked


def test_circular_graph_blocks() -> None:
    schema = replay([rev("a1", "b2", CREATE), rev("b2", "a1", "pass")])
    assert schema.blocked == ["the revision graph is circular"]
