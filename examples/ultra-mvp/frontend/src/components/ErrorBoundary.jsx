import { Component } from "react";

// Catches render errors anywhere below it and shows a recoverable fallback instead of a blank
// page. API errors are handled where they happen (each view shows its own error state).
export default class ErrorBoundary extends Component {
  constructor(props) {
    super(props);
    this.state = { failed: false };
  }

  static getDerivedStateFromError() {
    return { failed: true };
  }

  componentDidCatch(error, info) {
    console.error("Unhandled UI error", error, info.componentStack);
  }

  render() {
    if (!this.state.failed) return this.props.children;
    return (
      <section className="card crash" role="alert" data-testid="error-boundary">
        <h1>Something went wrong</h1>
        <p>An unexpected error stopped this page. Reloading usually helps.</p>
        <button type="button" onClick={() => window.location.reload()}>
          Reload
        </button>
      </section>
    );
  }
}
