import { type FormEvent, useState } from "react";
import { api } from "../api";
import { Field } from "../components/field";
import { PageTitle } from "../components/page-title";
import { ProblemAlert } from "../components/problem-alert";
import { useSession } from "../session";
import { t } from "../strings";

export function SignInPage() {
  const { signIn } = useSession();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [resetting, setResetting] = useState(false);
  const [resetSent, setResetSent] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      await signIn(String(form.get("email")), String(form.get("password")));
    } catch (reason) {
      setError(reason);
    } finally {
      setBusy(false);
    }
  }

  async function requestReset(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setError(null);
    try {
      await api.post(
        "/api/v1/password-reset",
        { email: String(form.get("email")) },
        { quietUnauthorized: true },
      );
      setResetSent(true);
    } catch (reason) {
      setError(reason);
    }
  }

  return (
    <main id="main" className="narrow">
      <PageTitle>{t.signIn.title}</PageTitle>
      <ProblemAlert error={error} />
      <form onSubmit={submit} aria-label={t.signIn.title}>
        <Field label={t.signIn.email}>
          {(control) => <input {...control} name="email" type="email" autoComplete="username" required />}
        </Field>
        <Field label={t.signIn.password}>
          {(control) => (
            <input {...control} name="password" type="password" autoComplete="current-password" required />
          )}
        </Field>
        <button type="submit" disabled={busy}>
          {t.signIn.submit}
        </button>
      </form>
      <p className="hint">{t.signIn.firstStart}</p>
      {resetting ? (
        <form onSubmit={requestReset} aria-label={t.signIn.resetTitle}>
          <h2>{t.signIn.resetTitle}</h2>
          {resetSent ? (
            <p role="status">{t.signIn.resetSent}</p>
          ) : (
            <>
              <Field label={t.signIn.email}>
                {(control) => (
                  <input {...control} name="email" type="email" autoComplete="username" required />
                )}
              </Field>
              <button type="submit">{t.signIn.resetSubmit}</button>
            </>
          )}
        </form>
      ) : (
        <button type="button" className="link" onClick={() => setResetting(true)}>
          {t.signIn.forgot}
        </button>
      )}
    </main>
  );
}
