import { friendlyError } from "../api/client.js";

export default function ErrorMessage({ error }) {
  if (!error) return null;
  return (
    <p className="alert" role="alert" data-testid="error">
      {friendlyError(error)}
    </p>
  );
}
