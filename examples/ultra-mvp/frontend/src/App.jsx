import { useEffect } from "react";

import Chat from "./components/Chat.jsx";
import LoginForm from "./components/LoginForm.jsx";
import NavBar from "./components/NavBar.jsx";
import NotFound from "./components/NotFound.jsx";
import Notes from "./components/Notes.jsx";
import { useAuth } from "./hooks/useAuth.jsx";
import { navigate, useRoute } from "./hooks/useRoute.js";

const PRIVATE = new Set(["/chat", "/notes"]);

export default function App() {
  const path = useRoute();
  const { user, booting } = useAuth();

  const mustRedirect =
    !booting && (path === "/" || (path === "/login" && user) || (PRIVATE.has(path) && !user));

  useEffect(() => {
    if (mustRedirect) navigate(user ? "/chat" : "/login");
  }, [mustRedirect, user]);

  let view;
  if (booting || mustRedirect) {
    view = (
      <main className="container narrow">
        <p className="loading" role="status" aria-busy="true">Loading…</p>
      </main>
    );
  } else if (path === "/login") view = <LoginForm />;
  else if (path === "/chat") view = <Chat />;
  else if (path === "/notes") view = <Notes />;
  else view = <NotFound />;

  return (
    <>
      <NavBar path={path} />
      {view}
    </>
  );
}
