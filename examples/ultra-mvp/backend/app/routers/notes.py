"""Notes: private text notes owned by their author."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status
from sqlalchemy import select

from app.deps import CurrentUser, DbDep, SettingsDep
from app.models import Note
from app.responses import errors
from app.schemas import NoteCreate, NoteOut

router = APIRouter(prefix="/notes", tags=["notes"])

NOT_FOUND = "Note not found"


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=NoteOut,
    summary="Create a note",
    responses=errors(401, 413, 429),
)
def create_note(body: NoteCreate, user: CurrentUser, db: DbDep) -> NoteOut:
    note = Note(owner_id=user.id, title=body.title, body=body.body)
    db.add(note)
    db.commit()
    return NoteOut.model_validate(note)


@router.get(
    "",
    response_model=list[NoteOut],
    summary="List your notes (newest first)",
    responses=errors(401, 429),
)
def list_notes(
    user: CurrentUser,
    db: DbDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[NoteOut]:
    notes = db.scalars(
        select(Note)
        .where(Note.owner_id == user.id)
        .order_by(Note.created_at.desc(), Note.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [NoteOut.model_validate(note) for note in notes]


@router.get(
    "/{note_id}",
    response_model=NoteOut,
    summary="Read one of your notes",
    responses=errors(401, 404, 429),
)
def get_note(note_id: int, user: CurrentUser, db: DbDep, settings: SettingsDep) -> NoteOut:
    note = db.get(Note, note_id)
    if note is None or (note.owner_id != user.id and not settings.has("bola")):
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=NOT_FOUND)
    return NoteOut.model_validate(note)


@router.delete(
    "/{note_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete one of your notes",
    responses=errors(401, 404, 429),
)
def delete_note(note_id: int, user: CurrentUser, db: DbDep) -> Response:
    note = db.get(Note, note_id)
    if note is None or note.owner_id != user.id:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=NOT_FOUND)
    db.delete(note)
    db.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
