import { useState } from "react";

import { api } from "../api/client.js";
import { useAuth } from "../hooks/useAuth.jsx";
import { navigate } from "../hooks/useRoute.js";
import ErrorMessage from "./ErrorMessage.jsx";

export default function LoginForm() {
  const { login } = useAuth();
  const [mode, setMode] = useState("login");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [notice, setNotice] = useState("");
  const isLogin = mode === "login";

  async function handleSubmit(event) {
    event.preventDefault();
    setError(null);
    setNotice("");
    setBusy(true);
    try {
      if (isLogin) {
        await login(email.trim(), password);
        navigate("/chat");
      } else {
        await api.register(email.trim(), password);
        setNotice("Account created. You can log in now.");
        setMode("login");
      }
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="container narrow">
      <form className="card form" data-testid="login-form" noValidate onSubmit={handleSubmit}>
        <h1>{isLogin ? "Log in" : "Create an account"}</h1>
        <label htmlFor="email">Email</label>
        <input
          id="email"
          name="email"
          type="email"
          autoComplete="username"
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
        />
        <label htmlFor="password">Password</label>
        <input
          id="password"
          name="password"
          type="password"
          autoComplete={isLogin ? "current-password" : "new-password"}
          required
          minLength={12}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <p className="hint">At least 12 characters.</p>
        <ErrorMessage error={error} />
        {notice && <p className="notice" role="status">{notice}</p>}
        <button type="submit" data-testid="submit" disabled={busy} aria-busy={busy}>
          {busy ? (isLogin ? "Signing in…" : "Creating…") : isLogin ? "Log in" : "Create account"}
        </button>
        <button
          type="button"
          className="link-button"
          onClick={() => {
            setMode(isLogin ? "register" : "login");
            setError(null);
          }}
        >
          {isLogin ? "Create an account" : "I already have an account"}
        </button>
      </form>
    </main>
  );
}
