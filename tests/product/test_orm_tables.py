"""SQLAlchemy model tables read from source (unit tests of parsing): declarative classes,
mixins, ``Mapped`` annotations, ``Table`` objects, and what makes a table or everything unknown."""

from __future__ import annotations

import ast
import textwrap

from prodaudit.product.orm_tables import model_tables

HEAD = """\
from sqlalchemy import Column, Integer, String, ForeignKey, Table
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, declared_attr
"""


def read(*sources: tuple[str, str]) -> object:
    return model_tables([(rel, ast.parse(textwrap.dedent(src))) for rel, src in sources])


def test_columns_mixins_names_and_relationships() -> None:
    base = HEAD + """
class Base(DeclarativeBase):
    pass

class Timestamps:
    created = Column(Integer)

class User(Timestamps, Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email = Column("email_address", String, unique=True)
    nick: Mapped[str]
    posts: Mapped[list["Post"]] = relationship(back_populates="author")

class Admin(User):
    __tablename__ = "admins"
    id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)

links = Table("links", Base.metadata, Column("a", Integer), Column("b", Integer))
"""
    schema = read(("app/models.py", base))
    assert {n: list(t.columns) for n, t in schema.tables.items()} == {
        "users": ["id", "email_address", "nick", "created"],
        "admins": ["id"],  # joined inheritance: the parent's columns stay in the parent's table
        "links": ["a", "b"],
    }
    assert str(schema.tables["users"].columns["nick"]) == "app/models.py:14"
    assert not schema.unknown and not schema.blocked and not schema.unnamed


def test_mixin_from_another_module_and_declarative_base_assignment() -> None:
    mixin = "from sqlalchemy import Column, Integer\nclass Audited:\n    by = Column(Integer)\n"
    models = """\
from sqlalchemy import Column, Integer
from .base import Base
from .mixins import Audited
class Thing(Audited, Base):
    __tablename__ = "things"
    id = Column(Integer, primary_key=True)
"""
    base = "from sqlalchemy.orm import declarative_base\nBase = declarative_base()\n"
    schema = read(("m/mixins.py", mixin), ("m/models.py", models), ("m/base.py", base))
    assert list(schema.tables["things"].columns) == ["id", "by"]
    assert not schema.unknown and not schema.blocked


def test_what_cannot_be_read_is_unknown_with_the_reason() -> None:
    src = HEAD + """
from elsewhere import Mystery
class Base(DeclarativeBase):
    pass

class A(Mystery, Base):
    __tablename__ = "a"
    id = Column(Integer, primary_key=True)

class B(Base):
    __tablename__ = "b"
    id = Column(Integer, primary_key=True)
    @declared_attr
    def owner_id(cls):
        return Column(ForeignKey("a.id"))

class C(Base):
    @declared_attr.directive
    def __tablename__(cls):
        return cls.__name__.lower()
    id = Column(Integer, primary_key=True)

class D(Base):
    __tablename__ = "d"
    id = Column(Integer, primary_key=True)
    code = make_code_column()
"""
    schema = read(("x.py", src))
    assert "Mystery" in schema.unknown["a"]
    assert "declared_attr" in schema.unknown["b"]
    assert "make_code_column" in schema.unknown["d"]
    assert any("C" in u for u in schema.unnamed)


def test_table_objects_and_several_bases_block() -> None:
    src = HEAD + """
from sqlalchemy.orm import declarative_base
One = declarative_base()
Two = declarative_base()
class R(One):
    __table__ = Table("r", One.metadata, autoload_with=engine)
"""
    schema = read(("x.py", src))
    text = " ".join(schema.blocked)
    assert "several declarative bases" in text and "__table__" in text and "autoload" in text


def test_string_annotations_and_generated_table_names() -> None:
    src = HEAD + """
from sqlmodel import SQLModel, Field
class Base(DeclarativeBase):
    pass

class Note(Base):
    __tablename__ = "notes"
    id: "Mapped[int]" = mapped_column(primary_key=True)
    body: "Mapped[str]"

class Hero(SQLModel, table=True):
    id: int = Field(primary_key=True)
"""
    schema = read(("x.py", src))
    assert list(schema.tables["notes"].columns) == ["id", "body"]
    # SQLModel's default table name: the class name lowercased
    assert list(schema.tables["hero"].columns) == ["id"] and not schema.unnamed


def test_sqlmodel_fields_bases_and_unreadable_columns() -> None:
    src = """
from typing import ClassVar
from sqlalchemy import Column, String
from sqlmodel import Field, Relationship, SQLModel

class HeroBase(SQLModel):
    name: str = Field(index=True)
    secret: str

class Hero(HeroBase, table=True):
    __tablename__ = "heroes"
    id: int | None = Field(default=None, primary_key=True)
    nick: str = Field(sa_column=Column("nickname", String))
    team: "Team" = Relationship(back_populates="heroes")
    kind: ClassVar[str] = "hero"
    _cache: dict = {}
    plain = 3

class HeroCreate(HeroBase):
    extra: str

class Team(SQLModel, table=True):
    id: int = Field(primary_key=True)
    meta: str = Field(sa_column=make_column())

class Villain(Hero, table=True):
    power: str
"""
    schema = read(("x.py", src))
    assert sorted(schema.tables["heroes"].columns) == ["id", "name", "nickname", "secret"]
    assert "herocreate" not in schema.tables and "herobase" not in schema.tables
    assert "sa_column is not a Column" in schema.unknown["team"]
    assert "inherits from the table Hero" in schema.unknown["villain"]
