"""Notes: /notes and /notes/{note_id} — creation, listing, ownership, validation, limits."""

from __future__ import annotations

from conftest import MakeClient, bearer, login, new_email, new_password, register
from fastapi.testclient import TestClient


def _other_user(client: TestClient) -> dict[str, str]:
    email, password = new_email(), new_password()
    register(client, email, password)
    return bearer(login(client, email, password))


def test_create_list_read_delete(client: TestClient, user_headers: dict[str, str]) -> None:
    first = client.post("/notes", json={"title": "first", "body": "one"}, headers=user_headers)
    second = client.post("/notes", json={"title": "second", "body": "two"}, headers=user_headers)
    assert first.status_code == second.status_code == 201
    note = second.json()
    assert {"id", "title", "body", "created_at"} <= note.keys()

    listing = client.get("/notes", headers=user_headers)
    assert listing.status_code == 200
    assert [n["title"] for n in listing.json()] == ["second", "first"]  # newest first
    paged = client.get("/notes", params={"limit": 1, "offset": 1}, headers=user_headers)
    assert [n["title"] for n in paged.json()] == ["first"]

    read = client.get(f"/notes/{note['id']}", headers=user_headers)
    assert read.status_code == 200
    assert read.json()["body"] == "two"

    assert client.delete(f"/notes/{note['id']}", headers=user_headers).status_code == 204
    gone = client.get(f"/notes/{note['id']}", headers=user_headers)
    assert gone.status_code == 404
    assert gone.json() == {"detail": "Note not found"}


def test_notes_of_other_users_are_invisible(
    client: TestClient, user_headers: dict[str, str]
) -> None:
    note = client.post("/notes", json={"title": "mine", "body": "secret"}, headers=user_headers)
    note_id = note.json()["id"]
    other = _other_user(client)
    assert client.get(f"/notes/{note_id}", headers=other).status_code == 404
    assert client.delete(f"/notes/{note_id}", headers=other).status_code == 404
    assert client.get("/notes", headers=other).json() == []
    # still there for its owner
    assert client.get(f"/notes/{note_id}", headers=user_headers).status_code == 200


def test_bola_flaw_exposes_other_users_notes(make_client: MakeClient) -> None:
    """The audit's ``bola`` flaw really is what the hardened default prevents."""
    client = make_client(ultra_flaws="bola")
    owner = _other_user(client)
    note_id = client.post("/notes", json={"title": "t", "body": "b"}, headers=owner).json()["id"]
    assert client.get(f"/notes/{note_id}", headers=_other_user(client)).status_code == 200


def test_notes_need_authentication(client: TestClient) -> None:
    assert client.get("/notes").status_code == 401
    assert client.post("/notes", json={"title": "t", "body": "b"}).status_code == 401
    assert client.get("/notes/1").status_code == 401
    assert client.delete("/notes/1").status_code == 401


def test_invalid_note_input(client: TestClient, user_headers: dict[str, str]) -> None:
    missing = client.post("/notes", json={"body": "no title"}, headers=user_headers)
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["body", "title"]
    not_an_id = client.get("/notes/abc", headers=user_headers)
    assert not_an_id.status_code == 422
    too_many = client.get("/notes", params={"limit": 1000}, headers=user_headers)
    assert too_many.status_code == 422


def test_oversized_body_is_refused(make_client: MakeClient) -> None:
    client = make_client(max_body_bytes=2048)
    email, password = new_email(), new_password()
    register(client, email, password)
    headers = bearer(login(client, email, password))
    response = client.post("/notes", json={"title": "big", "body": "x" * 5000}, headers=headers)
    assert response.status_code == 413
    assert response.json() == {"detail": "Request body too large"}
