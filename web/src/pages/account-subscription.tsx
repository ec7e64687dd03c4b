import { type FormEvent, useState } from "react";
import { api } from "../api";
import { Field } from "../components/field";
import { ProblemAlert } from "../components/problem-alert";
import { formatTime } from "../format";
import { useSignedIn } from "../session";
import { t } from "../strings";
import { type AccountDetails, mayAct, type SubscriptionRequest } from "../types";
import { useLoad } from "../use-load";
import { SubscriptionFlags } from "./accounts";

/**
 * The account's subscription with the buttons the API allows the role: group admins and company
 * admins ask, operators decide. The server checks again; a refusal shows its problem detail.
 */
export function SubscriptionSection({
  account,
  onChanged,
}: {
  account: AccountDetails;
  onChanged(): Promise<void>;
}) {
  const { user } = useSignedIn();
  const base = `/api/v1/accounts/${account.id}`;
  const history = useLoad(
    () => api.get<{ items: SubscriptionRequest[] }>(`${base}/requests`),
    [base, account.updatedAt],
  );
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [rejecting, setRejecting] = useState(false);
  const [busy, setBusy] = useState(false);
  const subscription = account.subscription;
  const pending = subscription.pendingRequest;
  const acting = mayAct(user.role);
  const operator = user.role === "operator";

  async function act(label: string, run: () => Promise<unknown>) {
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      await run();
      setRejecting(false);
      await Promise.all([onChanged(), history.reload()]);
      // After the reload: the notice says the page shows the outcome, not the state before it.
      setNotice(`${label}: ${t.account.done}`);
    } catch (reason) {
      setError(reason);
    } finally {
      setBusy(false);
    }
  }

  function reject(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const reason = String(new FormData(event.currentTarget).get("reason") ?? "").trim();
    if (!pending) return;
    void act(t.subscription.reject, () => api.post(`${base}/requests/${pending.id}/reject`, { reason }));
  }

  return (
    <section aria-labelledby="section-subscription" className="section">
      <h2 id="section-subscription">{t.subscription.title}</h2>
      <dl className="fields">
        <div>
          <dt>{t.subscription.billingPlan}</dt>
          <dd>{t.subscription.plans[subscription.billingPlan] ?? subscription.billingPlan}</dd>
        </div>
        <div>
          <dt>{t.subscription.state}</dt>
          <dd data-testid="subscription-state">
            {t.subscription.states[subscription.state] ?? subscription.state}
          </dd>
        </div>
        <div>
          <dt>{t.subscription.renewsOn}</dt>
          <dd>{subscription.renewsOn ?? "–"}</dd>
        </div>
        {subscription.endsOn ? (
          <div>
            <dt>{t.subscription.endsOn}</dt>
            <dd>{subscription.endsOn}</dd>
          </div>
        ) : null}
      </dl>
      <p>
        <SubscriptionFlags subscription={subscription} />
      </p>
      {acting ? (
        <div role="toolbar" aria-label={t.subscription.title} className="actions">
          {!pending && (subscription.state === "ended" || account.status !== "active") ? (
            <button
              type="button"
              disabled={busy}
              onClick={() =>
                act(t.subscription.requestActivation, () => api.post(`${base}/activation-request`))
              }
            >
              {t.subscription.requestActivation}
            </button>
          ) : null}
          {!pending && subscription.state === "active" ? (
            <button
              type="button"
              disabled={busy}
              onClick={() =>
                act(t.subscription.requestDeactivation, () => api.post(`${base}/deactivation-request`))
              }
            >
              {t.subscription.requestDeactivation}
            </button>
          ) : null}
          {pending ? (
            <button
              type="button"
              disabled={busy}
              onClick={() =>
                act(t.subscription.withdraw, () => api.post(`${base}/requests/${pending.id}/withdraw`))
              }
            >
              {t.subscription.withdraw}
            </button>
          ) : null}
          {pending && operator ? (
            <>
              <button
                type="button"
                disabled={busy}
                onClick={() =>
                  act(t.subscription.approve, () => api.post(`${base}/requests/${pending.id}/approve`))
                }
              >
                {t.subscription.approve}
              </button>
              <button type="button" disabled={busy} onClick={() => setRejecting(true)}>
                {t.subscription.reject}
              </button>
            </>
          ) : null}
          {subscription.renewsOn && !subscription.renewalConfirmed ? (
            <button
              type="button"
              disabled={busy}
              onClick={() => act(t.subscription.confirmRenewal, () => api.post(`${base}/renewal/confirm`))}
            >
              {t.subscription.confirmRenewal}
            </button>
          ) : null}
        </div>
      ) : null}
      {rejecting ? (
        <form className="confirm" aria-label={t.subscription.reject} onSubmit={reject}>
          <Field label={t.subscription.reason}>
            {(control) => <input {...control} name="reason" required maxLength={1000} />}
          </Field>
          <button type="submit" disabled={busy}>
            {t.subscription.confirmReject}
          </button>
          <button type="button" onClick={() => setRejecting(false)}>
            {t.cancel}
          </button>
        </form>
      ) : null}
      <ProblemAlert error={error} />
      {notice ? <p role="status">{notice}</p> : null}
      <h3 id="subscription-history">{t.subscription.history}</h3>
      <ProblemAlert error={history.error} />
      {(history.data?.items ?? []).length === 0 ? (
        <p className="empty">{t.none}</p>
      ) : (
        <table aria-labelledby="subscription-history">
          <thead>
            <tr>
              <th scope="col">{t.subscription.kind}</th>
              <th scope="col">{t.subscription.status}</th>
              <th scope="col">{t.subscription.requestedBy}</th>
              <th scope="col">{t.subscription.requestedAt}</th>
              <th scope="col">{t.subscription.decidedBy}</th>
              <th scope="col">{t.subscription.reason}</th>
            </tr>
          </thead>
          <tbody>
            {(history.data?.items ?? []).map((item) => (
              <tr key={item.id}>
                <td>{t.subscription.kinds[item.kind] ?? item.kind}</td>
                <td>{t.subscription.outcomes[item.status] ?? item.status}</td>
                <td>{item.requestedBy}</td>
                <td>{formatTime(item.requestedAt)}</td>
                <td>{item.decidedBy ?? "–"}</td>
                <td>{item.reason ?? item.note ?? "–"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
