import { useRef, useState } from "react";

import { api } from "../api/client.js";
import ErrorMessage from "./ErrorMessage.jsx";

export default function Chat() {
  const [messages, setMessages] = useState([]);
  const [draft, setDraft] = useState("");
  const [pending, setPending] = useState(false);
  const [error, setError] = useState(null);
  const [mock, setMock] = useState(false);
  const inputRef = useRef(null);

  async function send(event) {
    event.preventDefault();
    const text = draft.trim();
    if (!text || pending) return;
    const history = [...messages, { role: "user", content: text }];
    setMessages([...history, { role: "assistant", content: "", pending: true }]);
    setDraft("");
    setError(null);
    setPending(true);
    let reply = "";
    try {
      const result = await api.chatStream(
        history.map(({ role, content }) => ({ role, content })),
        (delta) => {
          reply += delta;
          setMessages([...history, { role: "assistant", content: reply, pending: true }]);
        },
      );
      setMock(result.mock);
      setMessages([...history, { role: "assistant", content: reply }]);
    } catch (err) {
      setMessages(history.slice(0, -1));
      setDraft(text);
      setError(err);
    } finally {
      setPending(false);
      inputRef.current?.focus();
    }
  }

  return (
    <main className="container">
      <section className="card chat" data-testid="chat">
        <div className="card-title">
          <h1>Chat</h1>
          {mock && <span className="badge">mock mode</span>}
        </div>
        {messages.length === 0 && <p className="empty">Ask anything to start the conversation.</p>}
        <ol className="chat-log" aria-live="polite" data-testid="chat-log">
          {messages.map((message, index) => (
            <li key={index} className={`message ${message.role}`} data-role={message.role}>
              <div className={`bubble${message.pending ? " pending" : ""}`}>{message.content}</div>
            </li>
          ))}
        </ol>
        <ErrorMessage error={error} />
        <form className="chat-form" onSubmit={send}>
          <label htmlFor="chat-input" className="visually-hidden">Message</label>
          <textarea
            id="chat-input"
            ref={inputRef}
            rows={3}
            maxLength={4000}
            required
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter" && !e.shiftKey) {
                e.preventDefault();
                e.currentTarget.form.requestSubmit();
              }
            }}
          />
          <button type="submit" data-testid="send" disabled={pending} aria-busy={pending}>
            {pending ? "Thinking…" : "Send"}
          </button>
        </form>
      </section>
    </main>
  );
}
