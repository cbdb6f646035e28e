"""DEP-045 without a database: models and migrations compared from the source. A column the
migrations create and no model declares (and the reverse) FAIL at its line; a matching project
PASSes at the parsed level; SQL the replay cannot follow and a malformed revision SKIP with the
reason while the other migration checks still run."""

# ruff: noqa: F811 - pytest fixtures imported from dep_helpers are used as arguments
from __future__ import annotations

from pathlib import Path

from dep_helpers import describe, result, run_deployment

from prodaudit.model import Evidence, Status

#: no scratch server, whatever the machine's environment holds: the static comparison decides
NO_DATABASE = {"DATABASE_URL": "", "PRODAUDIT_SCRATCH_DATABASE_URL": ""}

MODELS = '''from sqlalchemy import Boolean, Column, Integer, String
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class Stamped:
    created_at = Column(Integer)


class User(Stamped, Base):
    __tablename__ = "user"

    id = Column(Integer, primary_key=True)
    email = Column(String, unique=True, nullable=False)
    is_active = Column(Boolean, default=True)
'''

REVISION = '''"""create users"""
from alembic import op
import sqlalchemy as sa

revision = "{rev}"
down_revision = {down}


def upgrade():
{body}


def downgrade():
    op.drop_table("user")
'''

CREATE = '''    op.create_table(
        "user",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(50), nullable=False),
        sa.Column("address", sa.String(100)),
        sa.Column("is_active", sa.Boolean, nullable=False),
    )'''


def make_repo(root: Path, revisions: dict[str, str]) -> Path:
    """backend/alembic.ini, backend/app/models.py, backend/alembic/versions/<file>: text."""
    repo = root / "repo"
    versions = repo / "backend" / "alembic" / "versions"
    versions.mkdir(parents=True)
    (repo / "backend" / "alembic.ini").write_text("[alembic]\nscript_location = alembic\n",
                                                  encoding="utf-8")
    (repo / "backend" / "alembic" / "env.py").write_text(
        "from alembic import context\nfrom app.models import Base\n"
        "target_metadata = Base.metadata\n", encoding="utf-8")
    (repo / "backend" / "app").mkdir()
    (repo / "backend" / "app" / "__init__.py").write_text("", encoding="utf-8")
    (repo / "backend" / "app" / "models.py").write_text(MODELS, encoding="utf-8")
    for name, text in revisions.items():
        (versions / name).write_text(text, encoding="utf-8")
    return repo


def revision(rev: str, down: str | None, body: str) -> str:
    return REVISION.format(rev=rev, down=repr(down), body=body)


def test_drift_fails_at_the_column_on_each_side(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"0001_users.py": revision("0001", None, CREATE)})
    r = result(run_deployment(tmp_path, ["DEP-045"], NO_DATABASE, repo=repo), "DEP-045")
    assert r.status is Status.FAIL, describe(r)
    by_message = {f.message: f for f in r.findings}
    extra = next(f for m, f in by_message.items() if "'address'" in m)
    assert extra.location == "backend/alembic/versions/0001_users.py:14"
    missing = next(f for m, f in by_message.items() if "user.created_at" in m)
    assert missing.location == "backend/app/models.py:8"  # the mixin's column
    assert "decided from the source" in extra.evidence and "no scratch database" in extra.evidence
    assert len(r.findings) == 2, describe(r)


def test_matching_chain_passes_at_the_parsed_level(tmp_path: Path) -> None:
    add = ('    op.drop_column("user", "address")\n'
           '    with op.batch_alter_table("user") as batch_op:\n'
           '        batch_op.add_column(sa.Column("created_at", sa.Integer()))')
    repo = make_repo(tmp_path, {"0002_fix.py": revision("0002", "0001", add),
                                "0001_users.py": revision("0001", None, CREATE)})
    r = result(run_deployment(tmp_path, ["DEP-045"], NO_DATABASE, repo=repo), "DEP-045")
    assert r.status is Status.PASS, describe(r)
    assert r.findings[0].level is Evidence.PARSED
    assert "1 model tables match" in r.findings[0].message


def test_sql_the_replay_cannot_follow_skips_with_the_reason(tmp_path: Path) -> None:
    sql = '    op.execute("ALTER TABLE \\"user\\" ADD COLUMN created_at integer")'
    repo = make_repo(tmp_path, {"0001_users.py": revision("0001", None, CREATE.replace(
        '        sa.Column("address", sa.String(100)),\n', "")),
        "0002_sql.py": revision("0002", "0001", sql)})
    r = result(run_deployment(tmp_path, ["DEP-045"], NO_DATABASE, repo=repo), "DEP-045")
    assert r.status is Status.SKIP, describe(r)
    text = r.reason + " ".join(f.message for f in r.findings)
    assert "0002_sql.py:10" in text and "op.execute() changes 'user' with SQL" in text


def test_malformed_revision_is_named_and_the_other_checks_run(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"0001_users.py": revision("0001", None, CREATE),
                                "0002_broken.py": 'revision = "0002"\ndown_revision = "0001"\n'
                                                  'def upgrade(:\n    pass\n'})
    run = run_deployment(tmp_path, ["DEP-040", "DEP-043", "DEP-045"], NO_DATABASE, repo=repo)
    r = result(run, "DEP-045")
    assert r.status is Status.SKIP, describe(r)
    assert "0002_broken.py" in r.reason and "cannot be parsed" in r.reason
    assert result(run, "DEP-040").status is Status.PASS  # the graph is still read
    assert result(run, "DEP-043").status is Status.FAIL  # 0002 has no downgrade()


def test_tables_on_one_side_only(tmp_path: Path) -> None:
    body = CREATE.replace('        sa.Column("address", sa.String(100)),\n',
                          '        sa.Column("created_at", sa.Integer()),\n')
    body += '\n    op.create_table("legacy", sa.Column("id", sa.Integer()))'
    repo = make_repo(tmp_path, {"0001_users.py": revision("0001", None, body)})
    models = repo / "backend" / "app" / "models.py"
    models.write_text(MODELS + '\n\nclass Audit(Base):\n    __tablename__ = "audit"\n'
                      '    id = Column(Integer, primary_key=True)\n', encoding="utf-8")
    r = result(run_deployment(tmp_path, ["DEP-045"], NO_DATABASE, repo=repo), "DEP-045")
    assert r.status is Status.FAIL, describe(r)
    got = {(f.status, f.location) for f in r.findings}
    assert got == {(Status.FAIL, "backend/app/models.py:19"),
                   (Status.WARN, "backend/alembic/versions/0001_users.py:17")}, describe(r)


def test_env_py_filters_make_the_comparison_skip(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"0001_users.py": revision("0001", None, CREATE)})
    env = repo / "backend" / "alembic" / "env.py"
    env.write_text(env.read_text(encoding="utf-8") + "def include_object(*a):\n    return True\n",
                   encoding="utf-8")
    r = result(run_deployment(tmp_path, ["DEP-045"], NO_DATABASE, repo=repo), "DEP-045")
    assert r.status is Status.SKIP and "include_object" in r.reason, describe(r)


SQLMODEL_MODELS = '''import uuid

from sqlalchemy import Column, String
from sqlmodel import Field, Relationship, SQLModel


class UserBase(SQLModel):
    email: str = Field(unique=True, index=True, max_length=255)
    is_active: bool = True


class UserCreate(UserBase):
    password: str


class User(UserBase, table=True):
    id: int = Field(primary_key=True)
    address: str | None = Field(default=None, sa_column=Column("address", String(100)))
    items: list["Item"] = Relationship(back_populates="owner")


class Item(SQLModel, table=True):
    __tablename__ = "items"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    title: str
'''
CREATE_ITEMS = '''    op.create_table(
        "items",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("title", sa.String, nullable=False),
    )'''


def test_sqlmodel_table_classes_are_compared(tmp_path: Path) -> None:
    """SQLModel ``table=True`` classes are models: the table is the class name lowercased (or
    ``__tablename__``), the fields of the class and its SQLModel bases are its columns."""
    repo = make_repo(tmp_path, {"0001_users.py": revision("0001", None, CREATE),
                                "0002_items.py": revision("0002", "0001", CREATE_ITEMS)})
    (repo / "backend" / "app" / "models.py").write_text(SQLMODEL_MODELS, encoding="utf-8")
    r = result(run_deployment(tmp_path, ["DEP-045"], NO_DATABASE, repo=repo), "DEP-045")
    assert r.status is Status.PASS, describe(r)
    assert "all 2 model tables match" in r.findings[0].message and "items, user" in r.findings[0].message


def test_sqlmodel_field_without_migration_fails(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"0001_users.py": revision("0001", None, CREATE),
                                "0002_items.py": revision("0002", "0001", CREATE_ITEMS)})
    (repo / "backend" / "app" / "models.py").write_text(
        SQLMODEL_MODELS.replace("    is_active: bool = True\n",
                                "    is_active: bool = True\n    full_name: str | None = None\n"),
        encoding="utf-8")
    r = result(run_deployment(tmp_path, ["DEP-045"], NO_DATABASE, repo=repo), "DEP-045")
    assert r.status is Status.FAIL, describe(r)
    assert [f.location for f in r.findings] == ["backend/app/models.py:10"]
    assert "user.full_name" in r.findings[0].message


NAMED_BASE = '''from sqlalchemy.orm import declared_attr
from sqlmodel import Field, SQLModel as _SQLModel


class SQLModel(_SQLModel):
    @declared_attr  # type: ignore
    def __tablename__(cls) -> str:
        return cls.__name__


class BaseIdModel(SQLModel):
    id: int = Field(primary_key=True)
'''
TAG_MODEL = '''from app.base import BaseIdModel


class Tag(BaseIdModel, table=True):
    label: str
'''
CREATE_TAG = '''    op.create_table(
        "{name}",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("label", sa.String, nullable=False),
    )'''


def _named_base_repo(tmp_path: Path, table: str) -> Path:
    repo = make_repo(tmp_path, {"0001_tag.py": revision("0001", None,
                                                        CREATE_TAG.format(name=table))})
    app = repo / "backend" / "app"
    (app / "models.py").unlink()
    (app / "base.py").write_text(NAMED_BASE, encoding="utf-8")
    (app / "tag.py").write_text(TAG_MODEL, encoding="utf-8")
    return repo


def test_a_base_declared_attr_tablename_names_the_sqlmodel_tables(tmp_path: Path) -> None:
    """A repository SQLModel base whose ``declared_attr`` ``__tablename__`` returns
    ``cls.__name__`` names its subclasses' tables as the class is spelled; the base itself maps no
    table, and a module that only subclasses it with ``table=True`` is a model module."""
    repo = _named_base_repo(tmp_path, "Tag")
    r = result(run_deployment(tmp_path, ["DEP-045"], NO_DATABASE, repo=repo), "DEP-045")
    assert r.status is Status.PASS, describe(r)
    assert "all 1 model tables match" in r.findings[0].message and "(Tag)" in r.findings[0].message


def test_a_table_migrated_under_the_default_lowercase_name_fails(tmp_path: Path) -> None:
    repo = _named_base_repo(tmp_path, "tag")
    r = result(run_deployment(tmp_path, ["DEP-045"], NO_DATABASE, repo=repo), "DEP-045")
    assert r.status is Status.FAIL, describe(r)
    fails = [f for f in r.findings if f.status is Status.FAIL]
    assert [f.location for f in fails] == ["backend/app/tag.py:4"], describe(r)
    assert "'Tag'" in fails[0].message
