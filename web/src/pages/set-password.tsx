import { type FormEvent, useState } from "react";
import { Link, useParams } from "react-router";
import { ApiError, api } from "../api";
import { Field } from "../components/field";
import { PageTitle } from "../components/page-title";
import { ProblemAlert } from "../components/problem-alert";
import { t } from "../strings";

/** /console/password/<token>: the link of an invitation or a password reset e-mail. */
export function SetPasswordPage() {
  const { token = "" } = useParams();
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const password = String(form.get("password"));
    setError(null);
    if (password !== String(form.get("repeat"))) {
      setError(new ApiError({ type: "about:blank", title: t.setPassword.mismatch, status: 0, detail: "" }));
      return;
    }
    try {
      await api.post(
        `/api/v1/password-reset/${encodeURIComponent(token)}`,
        { password },
        { quietUnauthorized: true },
      );
      setDone(true);
    } catch (reason) {
      setError(reason);
    }
  }

  return (
    <main id="main" className="narrow">
      <PageTitle>{t.setPassword.title}</PageTitle>
      <ProblemAlert error={error} />
      {done ? (
        <>
          <p role="status">{t.setPassword.done}</p>
          <Link to="/accounts">{t.setPassword.toSignIn}</Link>
        </>
      ) : (
        <form onSubmit={submit} aria-label={t.setPassword.title}>
          <Field label={t.setPassword.password}>
            {(control) => (
              <input
                {...control}
                name="password"
                type="password"
                autoComplete="new-password"
                required
                minLength={8}
              />
            )}
          </Field>
          <Field label={t.setPassword.repeat}>
            {(control) => (
              <input
                {...control}
                name="repeat"
                type="password"
                autoComplete="new-password"
                required
                minLength={8}
              />
            )}
          </Field>
          <button type="submit">{t.setPassword.submit}</button>
        </form>
      )}
    </main>
  );
}
