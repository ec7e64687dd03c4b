import { ApiError } from "../api";
import { t } from "../strings";

/** A refusal as the server worded it: title, detail and the fields it names. */
export function ProblemAlert({ error }: { error: unknown }) {
  if (!error) return null;
  const problem =
    error instanceof ApiError
      ? error.problem
      : { title: t.problem.title, detail: error instanceof Error ? error.message : String(error), status: 0 };
  const errors = error instanceof ApiError ? (error.problem.errors ?? []) : [];
  return (
    <div role="alert" className="problem">
      <strong>{problem.title}</strong>
      {problem.status ? <span className="problem-status"> ({problem.status})</span> : null}
      <p>{problem.detail}</p>
      {errors.length > 0 ? (
        <ul>
          {errors.map((item) => (
            <li key={`${item.path}:${item.message}`}>
              <code>{item.path}</code> {item.message}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
