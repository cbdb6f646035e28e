import { useState } from "react";

import { useAuth } from "../hooks/useAuth.jsx";
import { navigate } from "../hooks/useRoute.js";

function Link({ to, current, children }) {
  return (
    <a
      href={to}
      aria-current={current === to ? "page" : undefined}
      onClick={(event) => {
        event.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </a>
  );
}

export default function NavBar({ path }) {
  const { user, logout } = useAuth();
  const [leaving, setLeaving] = useState(false);

  async function handleLogout() {
    setLeaving(true);
    try {
      await logout();
    } finally {
      setLeaving(false);
      navigate("/login");
    }
  }

  return (
    <header className="topbar">
      <Link to="/" current={path}>
        <span className="brand">ultra-mvp</span>
      </Link>
      {user && (
        <nav aria-label="Main">
          <Link to="/chat" current={path}>Chat</Link>
          <Link to="/notes" current={path}>Notes</Link>
        </nav>
      )}
      <div className="nav-user">
        {user ? (
          <>
            <span className="email" data-testid="user-email">{user.email}</span>
            <button
              type="button"
              className="link-button"
              data-testid="logout"
              disabled={leaving}
              aria-busy={leaving}
              onClick={handleLogout}
            >
              {leaving ? "Logging out…" : "Log out"}
            </button>
          </>
        ) : (
          <Link to="/login" current={path}>Log in</Link>
        )}
      </div>
    </header>
  );
}
