import { useState } from "react";
import { api } from "../api";
import { PageTitle } from "../components/page-title";
import { ProblemAlert } from "../components/problem-alert";
import { formatTime } from "../format";
import { useSession } from "../session";
import { t } from "../strings";
import type { SessionSummary } from "../types";
import { useLoad } from "../use-load";

/** The user's own sessions (seed: "force to log-out from there"). */
export function SessionsPage() {
  const { signOut } = useSession();
  const sessions = useLoad(() => api.get<{ items: SessionSummary[] }>("/api/v1/sessions"), []);
  const [error, setError] = useState<unknown>(null);

  async function end(session: SessionSummary) {
    setError(null);
    try {
      if (session.current) await signOut();
      else {
        await api.delete(`/api/v1/sessions/${session.id}`);
        await sessions.reload();
      }
    } catch (reason) {
      setError(reason);
    }
  }

  return (
    <>
      <PageTitle>{t.sessions.title}</PageTitle>
      <ProblemAlert error={error ?? sessions.error} />
      <table>
        <caption className="visually-hidden">{t.sessions.title}</caption>
        <thead>
          <tr>
            <th scope="col">{t.sessions.started}</th>
            <th scope="col">{t.sessions.lastSeen}</th>
            <th scope="col">{t.sessions.expires}</th>
            <th scope="col">{t.sessions.address}</th>
            <th scope="col">{t.sessions.userAgent}</th>
            <th scope="col">
              <span className="visually-hidden">{t.sessions.end}</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(sessions.data?.items ?? []).map((session) => (
            <tr key={session.id}>
              <td>
                {formatTime(session.createdAt)}
                {session.current ? ` (${t.sessions.current})` : ""}
              </td>
              <td>{formatTime(session.lastSeenAt)}</td>
              <td>{formatTime(session.expiresAt)}</td>
              <td>{session.address ?? "–"}</td>
              <td>{session.userAgent ?? "–"}</td>
              <td>
                <button type="button" onClick={() => end(session)}>
                  {t.sessions.end}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
