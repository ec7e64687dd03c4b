import { type FormEvent, useState } from "react";
import { api } from "../api";
import { Field } from "../components/field";
import { GenericSection, SectionBody } from "../components/generic-section";
import { ProblemAlert } from "../components/problem-alert";
import { formatTime } from "../format";
import { t } from "../strings";
import type { AccountDetails, ActivationLink, Group, RotatedCredential } from "../types";
import { useLoad } from "../use-load";
import { allGroups } from "./accounts";

/**
 * What provisioning contributes to the details: a PGSM account's device and activation attempts
 * with an activation link to scan, a SNOM account's settings credential with a button for a new one.
 */
export function ProvisioningSections(props: {
  account: AccountDetails;
  acting: boolean;
  onChanged(): Promise<void>;
}) {
  const { account, acting } = props;
  return account.type === "SNOM" ? (
    <SnomSection {...props} />
  ) : (
    <>
      <GenericSection name="device" value={account.device} />
      <GenericSection name="activationAttempts" value={account.activationAttempts} />
      {acting ? <ActivationLinkSection accountId={account.id} /> : null}
    </>
  );
}

function SnomSection({
  account,
  acting,
  onChanged,
}: {
  account: AccountDetails;
  acting: boolean;
  onChanged(): Promise<void>;
}) {
  const [credential, setCredential] = useState<RotatedCredential | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function rotate() {
    setBusy(true);
    setError(null);
    try {
      // The answer holds the password this once; it lives in this component's state only.
      setCredential(
        await api.post<RotatedCredential>(`/api/v1/accounts/${account.id}/provisioning-credential`),
      );
      await onChanged();
    } catch (reason) {
      setError(reason);
    } finally {
      setBusy(false);
    }
  }

  const state = snomState(account.snomProvisioning);
  return (
    <section aria-labelledby="section-snomProvisioning" className="section">
      <h2 id="section-snomProvisioning">{t.sections.snomProvisioning}</h2>
      {state.credential ? (
        <dl className="fields">
          <div>
            <dt>{t.account.credentialUsername}</dt>
            <dd data-testid="snom-credential-username">{state.credential.username}</dd>
          </div>
          <div>
            <dt>{t.account.credentialCreatedAt}</dt>
            <dd>{formatTime(state.credential.createdAt)}</dd>
          </div>
          {state.credential.previous ? (
            <div>
              <dt>{t.account.credentialPrevious}</dt>
              <dd>
                {state.credential.previous.username}:{" "}
                {t.account.previousValidUntil(formatTime(state.credential.previous.validUntil))}
              </dd>
            </div>
          ) : null}
        </dl>
      ) : (
        <p className="empty">{t.account.noCredential}</p>
      )}
      <h3>{t.account.snomFetches}</h3>
      <SectionBody caption={t.account.snomFetches} value={state.fetches} />
      {acting ? (
        <div>
          <button type="button" disabled={busy} onClick={rotate}>
            {t.account.newCredential}
          </button>
          <ProblemAlert error={error} />
          {credential ? (
            <section aria-label={t.account.credentialShown} className="confirm">
              <h3>{t.account.credentialShown}</h3>
              <dl className="fields">
                <div>
                  <dt>{t.account.credentialUsername}</dt>
                  <dd data-testid="credential-username">{credential.username}</dd>
                </div>
                <div>
                  <dt>{t.account.credentialPassword}</dt>
                  <dd data-testid="credential-password">{credential.password}</dd>
                </div>
              </dl>
              {credential.previousValidUntil ? (
                <p>{t.account.previousValidUntil(formatTime(credential.previousValidUntil))}</p>
              ) : null}
            </section>
          ) : null}
        </div>
      ) : null}
    </section>
  );
}

interface SnomState {
  credential: {
    username: string;
    createdAt: string;
    previous: { username: string; validUntil: string } | null;
  } | null;
  fetches: Record<string, unknown>[];
}

/** The section as provisioning answers it (the details schema keeps it open, so it is read with care). */
function snomState(value: Record<string, unknown> | null): SnomState {
  const credential = value?.credential;
  const fetches = value?.fetches;
  return {
    credential:
      typeof credential === "object" && credential !== null && "username" in credential
        ? (credential as SnomState["credential"])
        : null,
    fetches: Array.isArray(fetches) ? (fetches as Record<string, unknown>[]) : [],
  };
}

function ActivationLinkSection({ accountId }: { accountId: string }) {
  const [link, setLink] = useState<ActivationLink | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function create() {
    setBusy(true);
    setError(null);
    try {
      setLink(await api.post<ActivationLink>(`/api/v1/accounts/${accountId}/activation-link`));
    } catch (reason) {
      setError(reason);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="section-activation-link" className="section">
      <h2 id="section-activation-link">{t.account.activationLink}</h2>
      <button type="button" disabled={busy} onClick={create}>
        {t.account.activationLink}
      </button>
      <ProblemAlert error={error} />
      {link ? (
        <>
          <p>
            <a href={link.url}>{link.url}</a> {t.account.activationLinkExpires(formatTime(link.expiresAt))}
          </p>
          {/* An image, not inner HTML: the SVG's markup cannot run script in the console's page. */}
          <img
            className="qr"
            alt={t.account.activationLinkQr}
            src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(link.qrSvg)}`}
          />
        </>
      ) : null}
    </section>
  );
}

/** Moves the account to another group or sub-group of its organisation. */
export function MoveForm(props: { account: AccountDetails; onMoved(): Promise<void>; onCancel(): void }) {
  const { account } = props;
  const groups = useLoad(allGroups, []);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const all: Group[] = groups.data ?? [];
  const organisationId = all.find((group) => group.id === account.groupId)?.organisationId;
  // Only the account's own organisation: the server refuses any other group.
  const choices = all.filter(
    (group) => group.organisationId === organisationId && group.id !== account.groupId,
  );

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const groupId = String(new FormData(event.currentTarget).get("groupId") ?? "");
    setBusy(true);
    setError(null);
    try {
      await api.post(`/api/v1/accounts/${account.id}/move`, { groupId });
      await props.onMoved();
    } catch (reason) {
      setError(reason);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="confirm" aria-label={t.account.move} onSubmit={submit}>
      <ProblemAlert error={error ?? groups.error} />
      <Field label={t.account.moveTo}>
        {(control) => (
          <select {...control} name="groupId" required defaultValue="">
            <option value="" disabled>
              {t.account.moveTo}
            </option>
            {choices.map((group) => (
              <option key={group.id} value={group.id}>
                {group.name}
              </option>
            ))}
          </select>
        )}
      </Field>
      <button type="submit" disabled={busy}>
        {t.account.confirmMove}
      </button>
      <button type="button" onClick={props.onCancel}>
        {t.cancel}
      </button>
    </form>
  );
}
