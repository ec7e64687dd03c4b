import { type FormEvent, useEffect, useRef, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { api, type Page, query } from "../api";
import { Field } from "../components/field";
import { GenericSection, SectionBody } from "../components/generic-section";
import { PageTitle } from "../components/page-title";
import { ProblemAlert } from "../components/problem-alert";
import { formatTime } from "../format";
import { useSignedIn } from "../session";
import { t } from "../strings";
import { type AccountDetails, type Cdr, type Message, mayAct } from "../types";
import { useLoad } from "../use-load";
import { MoveForm, ProvisioningSections } from "./account-provisioning";
import { SubscriptionSection } from "./account-subscription";

/** Sections this page lays out itself; any other the API sends is shown generically. */
const known = new Set([
  "id",
  "groupId",
  "type",
  "mode",
  "status",
  "disabledReason",
  "username",
  "sipDomain",
  "displayName",
  "phoneNumber",
  "macAddress",
  "securityModel",
  "keepAliveSeconds",
  "profileId",
  "licenseKey",
  "notes",
  "activatedAt",
  "passwordChangedAt",
  "createdAt",
  "updatedAt",
  "statusReason",
  "profile",
  "registrations",
  "messages",
  "certificates",
  "license",
  "recentEvents",
  "subscription",
  "device",
  "activationAttempts",
  "snomProvisioning",
]);

type Pending = "disable" | "revoke" | "delete" | "move" | null;

export function AccountDetailsPage() {
  const { id = "" } = useParams();
  const { user } = useSignedIn();
  const navigate = useNavigate();
  const details = useLoad(() => api.get<AccountDetails>(`/api/v1/accounts/${id}`), [id]);
  const cdrs = useLoad(
    // Without `from` the server answers the last month by its own clock, not the browser's.
    () => api.get<Page<Cdr>>(`/api/v1/accounts/${id}/cdrs${query({ pageSize: 50 })}`),
    [id],
  );
  const [actionError, setActionError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [pending, setPending] = useState<Pending>(null);
  const [busy, setBusy] = useState(false);

  async function act(label: string, run: () => Promise<unknown>, after: "reload" | "leave" = "reload") {
    setBusy(true);
    setActionError(null);
    setNotice(null);
    try {
      await run();
      setPending(null);
      if (after === "leave") {
        navigate("/accounts", { replace: true });
        return;
      }
      setNotice(label);
      await Promise.all([details.reload(), cdrs.reload()]);
    } catch (reason) {
      setActionError(reason);
    } finally {
      setBusy(false);
    }
  }

  function withReason(path: string, label: string) {
    return (event: FormEvent<HTMLFormElement>) => {
      event.preventDefault();
      const reason = String(new FormData(event.currentTarget).get("reason") ?? "");
      void act(label, () => api.post(path, { reason }));
    };
  }

  const account = details.data;
  if (!account) {
    return (
      <>
        <PageTitle>{t.nav.accounts}</PageTitle>
        <ProblemAlert error={details.error} />
        {details.loading ? <p aria-live="polite">{t.loading}</p> : null}
      </>
    );
  }
  const base = `/api/v1/accounts/${account.id}`;
  const acting = mayAct(user.role);
  const others = Object.entries(account).filter(([key]) => !known.has(key));

  return (
    <>
      <PageTitle>{`${account.displayName ?? account.username} (${account.username})`}</PageTitle>
      <p className="lead">
        <span className={`status status-${account.status}`} data-testid="account-status">
          {t.status[account.status] ?? account.status}
        </span>{" "}
        <span data-testid="status-reason">{account.statusReason}</span>
      </p>

      <div role="toolbar" aria-label={t.account.actions} className="actions">
        {acting ? (
          <>
            <button
              type="button"
              disabled={busy}
              onClick={() =>
                act(t.account.queued(t.account.sendInstallationSms), () =>
                  api.post(`${base}/installation-sms`),
                )
              }
            >
              {t.account.sendInstallationSms}
            </button>
            <button
              type="button"
              disabled={busy}
              onClick={() =>
                act(t.account.queued(t.account.sendActivationSms), () => api.post(`${base}/activation-sms`))
              }
            >
              {t.account.sendActivationSms}
            </button>
            {account.status === "disabled" ? (
              <button
                type="button"
                disabled={busy}
                onClick={() => act(t.account.done, () => api.post(`${base}/enable`))}
              >
                {t.account.enable}
              </button>
            ) : (
              <button type="button" disabled={busy} onClick={() => setPending("disable")}>
                {t.account.disable}
              </button>
            )}
            <button type="button" disabled={busy} onClick={() => setPending("revoke")}>
              {t.account.revokeKeys}
            </button>
            <Link className="button" to={`/accounts/${account.id}/edit`}>
              {t.account.edit}
            </Link>
            <button type="button" disabled={busy} onClick={() => setPending("move")}>
              {t.account.move}
            </button>
          </>
        ) : null}
        <button type="button" disabled={busy} onClick={() => Promise.all([details.reload(), cdrs.reload()])}>
          {t.account.refresh}
        </button>
        {acting ? (
          <button type="button" className="danger" disabled={busy} onClick={() => setPending("delete")}>
            {t.account.delete}
          </button>
        ) : null}
      </div>

      {pending === "disable" ? (
        <ReasonForm
          label={t.account.disable}
          confirm={t.account.confirmDisable}
          busy={busy}
          onSubmit={withReason(`${base}/disable`, t.account.done)}
          onCancel={() => setPending(null)}
        />
      ) : null}
      {pending === "revoke" ? (
        <ReasonForm
          label={t.account.revokeKeys}
          confirm={t.account.confirmRevoke}
          busy={busy}
          onSubmit={withReason(`${base}/revoke-keys`, t.account.done)}
          onCancel={() => setPending(null)}
        />
      ) : null}
      {pending === "move" ? (
        <MoveForm
          account={account}
          onCancel={() => setPending(null)}
          onMoved={async () => {
            setPending(null);
            await details.reload();
            setNotice(t.account.moved);
          }}
        />
      ) : null}
      {pending === "delete" ? (
        <fieldset className="confirm" aria-label={t.account.delete}>
          <p>{t.account.deleteQuestion}</p>
          <button
            type="button"
            className="danger"
            disabled={busy}
            onClick={() => act(t.account.deleted, () => api.delete(base), "leave")}
          >
            {t.account.confirmDelete}
          </button>
          <button type="button" onClick={() => setPending(null)}>
            {t.cancel}
          </button>
        </fieldset>
      ) : null}
      <ProblemAlert error={actionError} />
      {notice ? <p role="status">{notice}</p> : null}
      <ProblemAlert error={details.error} />

      <dl className="fields">
        <div>
          <dt>{t.accounts.type}</dt>
          <dd>{account.type}</dd>
        </div>
        <div>
          <dt>{t.account.mode}</dt>
          <dd>{account.mode}</dd>
        </div>
        <div>
          <dt>{t.account.sipDomain}</dt>
          <dd>{account.sipDomain}</dd>
        </div>
        <div>
          <dt>{t.accounts.phoneNumber}</dt>
          <dd>{account.phoneNumber ?? "–"}</dd>
        </div>
        <div>
          <dt>{t.account.macAddress}</dt>
          <dd>{account.macAddress ?? "–"}</dd>
        </div>
        <div>
          <dt>{t.account.profile}</dt>
          <dd>{account.profile?.name ?? "–"}</dd>
        </div>
        <div>
          <dt>{t.account.licenseKey}</dt>
          <dd>{account.licenseKey ?? "–"}</dd>
        </div>
        <div>
          <dt>{t.account.updatedAt}</dt>
          <dd>{formatTime(account.updatedAt)}</dd>
        </div>
      </dl>

      <SubscriptionSection account={account} onChanged={details.reload} />
      <ProvisioningSections account={account} acting={acting} onChanged={details.reload} />
      <Section name="registrations" value={account.registrations} />
      <MessagesSection messages={account.messages} />
      <Section name="certificates" value={account.certificates} />
      <Section name="license" value={account.license} />
      <section aria-labelledby="section-cdrs" className="section">
        <h2 id="section-cdrs">{t.sections.cdrs}</h2>
        <ProblemAlert error={cdrs.error} />
        <SectionBody
          caption={t.sections.cdrs ?? "CDRs"}
          value={(cdrs.data?.items ?? []).map((cdr) => ({
            caller: cdr.caller,
            callee: cdr.callee,
            startedAt: cdr.startedAt,
            durationSeconds: cdr.durationSeconds,
            status: cdr.status,
          }))}
        />
      </section>
      {others.map(([name, value]) => (
        <GenericSection key={name} name={name} value={value} />
      ))}
      <Section
        name="events"
        value={account.recentEvents.map((event) => ({
          occurredAt: event.occurredAt,
          action: event.action,
          actor: event.actor,
        }))}
      />
    </>
  );
}

/** Asks for the reason an action records; focused when it opens, so the keyboard lands in it. */
function ReasonForm(props: {
  label: string;
  confirm: string;
  busy: boolean;
  onSubmit(event: FormEvent<HTMLFormElement>): void;
  onCancel(): void;
}) {
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  return (
    <form className="confirm" aria-label={props.label} onSubmit={props.onSubmit}>
      <Field label={t.account.reason}>
        {(control) => <input {...control} ref={input} name="reason" required maxLength={500} />}
      </Field>
      <button type="submit" disabled={props.busy}>
        {props.confirm}
      </button>
      <button type="button" onClick={props.onCancel}>
        {t.cancel}
      </button>
    </form>
  );
}

function Section({ name, value }: { name: string; value: unknown }) {
  return <GenericSection name={name} value={value} />;
}

function MessagesSection({ messages }: { messages: Message[] }) {
  return (
    <section aria-labelledby="section-messages" className="section">
      <h2 id="section-messages">{t.sections.messages}</h2>
      {messages.length === 0 ? (
        <p className="empty">{t.none}</p>
      ) : (
        <table>
          <caption className="visually-hidden">{t.sections.messages}</caption>
          <thead>
            <tr>
              <th scope="col">{t.messages.kind}</th>
              <th scope="col">{t.messages.channel}</th>
              <th scope="col">{t.messages.to}</th>
              <th scope="col">{t.messages.status}</th>
              <th scope="col">{t.messages.createdAt}</th>
              <th scope="col">{t.messages.installationClicked}</th>
            </tr>
          </thead>
          <tbody>
            {messages.map((message) => (
              <tr key={message.id}>
                <td>{message.kind}</td>
                <td>{message.channel}</td>
                <td>{message.to}</td>
                <td>
                  {t.statusNames[message.status] ?? message.status}
                  {message.failureReason ? ` (${message.failureReason})` : ""}
                </td>
                <td>{formatTime(message.createdAt)}</td>
                <td>{message.clickedAt ? formatTime(message.clickedAt) : "–"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
