import { useCallback, useEffect, useState } from "react";

import { api } from "../api/client.js";
import ErrorMessage from "./ErrorMessage.jsx";

function NoteItem({ note, onDelete }) {
  const [deleting, setDeleting] = useState(false);
  return (
    <li className="note">
      <div className="note-head">
        <h2>{note.title}</h2>
        <button
          type="button"
          className="link-button danger"
          disabled={deleting}
          onClick={async () => {
            setDeleting(true);
            try {
              await onDelete(note.id);
            } finally {
              setDeleting(false);
            }
          }}
        >
          {deleting ? "Deleting…" : "Delete"}
        </button>
      </div>
      <p>{note.body}</p>
      <time dateTime={note.created_at}>{new Date(note.created_at).toLocaleString()}</time>
    </li>
  );
}

export default function Notes() {
  const [notes, setNotes] = useState(null);
  const [title, setTitle] = useState("");
  const [body, setBody] = useState("");
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState(null);

  const load = useCallback(async () => {
    try {
      setNotes(await api.listNotes());
    } catch (err) {
      setNotes([]);
      setError(err);
    }
  }, []);

  useEffect(() => {
    load();
  }, [load]);

  async function save(event) {
    event.preventDefault();
    setError(null);
    setSaving(true);
    try {
      await api.createNote(title.trim(), body);
      setTitle("");
      setBody("");
      await load();
    } catch (err) {
      setError(err);
    } finally {
      setSaving(false);
    }
  }

  async function remove(id) {
    try {
      await api.deleteNote(id);
      await load();
    } catch (err) {
      setError(err);
    }
  }

  return (
    <main className="container">
      <section className="card">
        <h1>Notes</h1>
        <form className="note-form" onSubmit={save}>
          <label htmlFor="note-title">Title</label>
          <input id="note-title" required maxLength={200} value={title} onChange={(e) => setTitle(e.target.value)} />
          <label htmlFor="note-body">Note</label>
          <textarea id="note-body" rows={3} maxLength={10000} value={body} onChange={(e) => setBody(e.target.value)} />
          <button type="submit" disabled={saving} aria-busy={saving}>
            {saving ? "Saving…" : "Save note"}
          </button>
        </form>
        <ErrorMessage error={error} />
        {notes === null && <p className="empty" role="status">Loading notes…</p>}
        {notes?.length === 0 && <p className="empty">No notes yet.</p>}
        <ul className="notes" data-testid="notes">
          {(notes || []).map((note) => (
            <NoteItem key={note.id} note={note} onDelete={remove} />
          ))}
        </ul>
      </section>
    </main>
  );
}
