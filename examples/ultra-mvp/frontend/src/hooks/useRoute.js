// A minimal history-API router: the server (serve.py) answers every unknown path with
// index.html, so deep links work.
import { useSyncExternalStore } from "react";

const listeners = new Set();

function subscribe(listener) {
  listeners.add(listener);
  window.addEventListener("popstate", listener);
  return () => {
    listeners.delete(listener);
    window.removeEventListener("popstate", listener);
  };
}

export function navigate(path) {
  if (window.location.pathname !== path) window.history.pushState({}, "", path);
  listeners.forEach((listener) => listener());
}

export function useRoute() {
  return useSyncExternalStore(subscribe, () => window.location.pathname);
}
