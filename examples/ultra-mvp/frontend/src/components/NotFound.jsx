import { navigate } from "../hooks/useRoute.js";

export default function NotFound() {
  return (
    <main className="container narrow">
      <section className="card">
        <h1>Page not found</h1>
        <a
          href="/"
          onClick={(event) => {
            event.preventDefault();
            navigate("/");
          }}
        >
          Go home
        </a>
      </section>
    </main>
  );
}
