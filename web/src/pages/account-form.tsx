import { type FormEvent, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { api, type Page } from "../api";
import { Field } from "../components/field";
import { PageTitle } from "../components/page-title";
import { ProblemAlert } from "../components/problem-alert";
import { t } from "../strings";
import type { Account, Group, Profile } from "../types";
import { useLoad } from "../use-load";
import { allGroups } from "./accounts";

/** What a form field holds: empty means "not given" (create) or "cleared" (edit). */
function text(form: FormData, name: string): string | null {
  const value = String(form.get(name) ?? "").trim();
  return value === "" ? null : value;
}

/** Create (/accounts/new, manual or wizard) and edit (/accounts/:id/edit) of one account. */
export function AccountFormPage() {
  const { id } = useParams();
  const editing = id !== undefined;
  const navigate = useNavigate();
  const existing = useLoad(
    () => (id ? api.get<Account>(`/api/v1/accounts/${id}`) : Promise.resolve(undefined)),
    [id],
  );
  const groups = useLoad(allGroups, []);
  const profiles = useLoad(
    async () => (await api.get<Page<Profile>>("/api/v1/profiles?pageSize=500")).items,
    [],
  );
  const [type, setType] = useState<"PGSM" | "SNOM">("PGSM");
  const [mode, setMode] = useState<"wizard" | "manual">("wizard");
  const [groupId, setGroupId] = useState<string>("");
  const [error, setError] = useState<unknown>(null);
  const [created, setCreated] = useState<Account | null>(null);
  const [busy, setBusy] = useState(false);

  const account = existing.data;
  const chosenGroup = (groups.data ?? []).find((group: Group) => group.id === (groupId || account?.groupId));
  const shownProfiles = (profiles.data ?? []).filter(
    (profile) => !chosenGroup || profile.organisationId === chosenGroup.organisationId,
  );
  const accountType = account?.type ?? type;

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const fields = {
      displayName: text(form, "displayName"),
      phoneNumber: text(form, "phoneNumber"),
      macAddress: accountType === "SNOM" ? text(form, "macAddress") : null,
      profileId: text(form, "profileId"),
      licenseKey: text(form, "licenseKey"),
      notes: text(form, "notes"),
    };
    setBusy(true);
    setError(null);
    try {
      if (account) {
        const saved = await api.patch<Account>(`/api/v1/accounts/${account.id}`, {
          ...fields,
          groupId: text(form, "groupId") ?? account.groupId,
          ...(text(form, "username") && text(form, "username") !== account.username
            ? { username: text(form, "username") }
            : {}),
        });
        navigate(`/accounts/${saved.id}`);
        return;
      }
      const body: Record<string, unknown> = { groupId: text(form, "groupId"), type, mode };
      for (const [key, value] of Object.entries(fields)) if (value !== null) body[key] = value;
      if (mode === "manual") {
        if (text(form, "username")) body.username = text(form, "username");
        if (text(form, "password")) body.password = text(form, "password");
      }
      const answer = await api.post<Account>("/api/v1/accounts", body);
      if (answer.password && mode === "manual") setCreated(answer);
      else navigate(`/accounts/${answer.id}`);
    } catch (reason) {
      setError(reason);
    } finally {
      setBusy(false);
    }
  }

  if (created) {
    return (
      <>
        <PageTitle>{t.form.createTitle}</PageTitle>
        <p role="status">
          {t.account.createdPassword}: <code>{created.password}</code>
        </p>
        <Link to={`/accounts/${created.id}`}>{created.username}</Link>
      </>
    );
  }
  if (editing && !account) {
    return (
      <>
        <PageTitle>{t.form.editTitle("")}</PageTitle>
        <ProblemAlert error={existing.error} />
      </>
    );
  }

  return (
    <>
      <PageTitle>{account ? t.form.editTitle(account.username) : t.form.createTitle}</PageTitle>
      <ProblemAlert error={error ?? groups.error ?? profiles.error} />
      <form
        onSubmit={submit}
        className="stacked"
        aria-label={account ? t.form.editTitle(account.username) : t.form.createTitle}
      >
        {account ? null : (
          <>
            <Field label={t.form.accountType}>
              {(control) => (
                <select
                  {...control}
                  name="type"
                  value={type}
                  onChange={(event) => setType(event.target.value as "PGSM" | "SNOM")}
                >
                  <option value="PGSM">PGSM</option>
                  <option value="SNOM">SNOM</option>
                </select>
              )}
            </Field>
            <fieldset>
              <legend>{t.form.way}</legend>
              <label className="inline">
                <input
                  type="radio"
                  name="mode"
                  value="wizard"
                  checked={mode === "wizard"}
                  onChange={() => setMode("wizard")}
                />
                {t.form.wizard}
              </label>
              <label className="inline">
                <input
                  type="radio"
                  name="mode"
                  value="manual"
                  checked={mode === "manual"}
                  onChange={() => setMode("manual")}
                />
                {t.form.manual}
              </label>
            </fieldset>
          </>
        )}
        <Field label={t.form.group}>
          {(control) => (
            <select
              {...control}
              name="groupId"
              required
              defaultValue={account?.groupId ?? ""}
              onChange={(event) => setGroupId(event.target.value)}
            >
              <option value="" disabled>
                {t.form.chooseGroup}
              </option>
              {(groups.data ?? []).map((group) => (
                <option key={group.id} value={group.id}>
                  {group.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label={t.form.profile}>
          {(control) => (
            <select {...control} name="profileId" defaultValue={account?.profileId ?? ""}>
              <option value="">{t.form.groupDefault}</option>
              {shownProfiles.map((profile) => (
                <option key={profile.id} value={profile.id}>
                  {profile.name} ({profile.sipDomain})
                </option>
              ))}
            </select>
          )}
        </Field>
        {account || mode === "manual" ? (
          <Field label={t.form.username} hint={t.form.usernameHint}>
            {(control) => (
              <input
                {...control}
                name="username"
                inputMode="numeric"
                pattern="[0-9]{3,20}"
                defaultValue={account?.username ?? ""}
              />
            )}
          </Field>
        ) : null}
        {!account && mode === "manual" ? (
          <Field label={t.form.password} hint={t.form.passwordHint}>
            {(control) => <input {...control} name="password" type="password" autoComplete="new-password" />}
          </Field>
        ) : null}
        <Field label={t.form.displayName}>
          {(control) => (
            <input
              {...control}
              name="displayName"
              defaultValue={account?.displayName ?? ""}
              maxLength={200}
            />
          )}
        </Field>
        <Field label={t.form.phoneNumber} hint={t.form.phoneHint}>
          {(control) => (
            <input {...control} name="phoneNumber" type="tel" defaultValue={account?.phoneNumber ?? ""} />
          )}
        </Field>
        {accountType === "SNOM" ? (
          <Field label={t.form.macAddress}>
            {(control) => <input {...control} name="macAddress" defaultValue={account?.macAddress ?? ""} />}
          </Field>
        ) : null}
        <Field label={t.form.licenseKey}>
          {(control) => <input {...control} name="licenseKey" defaultValue={account?.licenseKey ?? ""} />}
        </Field>
        <Field label={t.form.notes}>
          {(control) => (
            <textarea {...control} name="notes" defaultValue={account?.notes ?? ""} maxLength={2000} />
          )}
        </Field>
        <p className="toolbar">
          <button type="submit" disabled={busy}>
            {account ? t.form.save : t.form.create}
          </button>
          <Link to={account ? `/accounts/${account.id}` : "/accounts"}>{t.cancel}</Link>
        </p>
      </form>
    </>
  );
}
