import { type FormEvent, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { api, type Page } from "../api";
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
            <label>
              {t.form.accountType}
              <select
                name="type"
                value={type}
                onChange={(event) => setType(event.target.value as "PGSM" | "SNOM")}
              >
                <option value="PGSM">PGSM</option>
                <option value="SNOM">SNOM</option>
              </select>
            </label>
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
        <label>
          {t.form.group}
          <select
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
        </label>
        <label>
          {t.form.profile}
          <select name="profileId" defaultValue={account?.profileId ?? ""}>
            <option value="">{t.form.groupDefault}</option>
            {shownProfiles.map((profile) => (
              <option key={profile.id} value={profile.id}>
                {profile.name} ({profile.sipDomain})
              </option>
            ))}
          </select>
        </label>
        {account || mode === "manual" ? (
          <>
            <label>
              {t.form.username}
              <input
                name="username"
                inputMode="numeric"
                pattern="[0-9]{3,20}"
                aria-describedby="username-hint"
                defaultValue={account?.username ?? ""}
              />
            </label>
            <span id="username-hint" className="hint">
              {t.form.usernameHint}
            </span>
          </>
        ) : null}
        {!account && mode === "manual" ? (
          <>
            <label>
              {t.form.password}
              <input
                name="password"
                type="password"
                autoComplete="new-password"
                aria-describedby="password-hint"
              />
            </label>
            <span id="password-hint" className="hint">
              {t.form.passwordHint}
            </span>
          </>
        ) : null}
        <label>
          {t.form.displayName}
          <input name="displayName" defaultValue={account?.displayName ?? ""} maxLength={200} />
        </label>
        <label>
          {t.form.phoneNumber}
          <input
            name="phoneNumber"
            type="tel"
            aria-describedby="phone-hint"
            defaultValue={account?.phoneNumber ?? ""}
          />
        </label>
        <span id="phone-hint" className="hint">
          {t.form.phoneHint}
        </span>
        {accountType === "SNOM" ? (
          <label>
            {t.form.macAddress}
            <input name="macAddress" defaultValue={account?.macAddress ?? ""} />
          </label>
        ) : null}
        <label>
          {t.form.licenseKey}
          <input name="licenseKey" defaultValue={account?.licenseKey ?? ""} />
        </label>
        <label>
          {t.form.notes}
          <textarea name="notes" defaultValue={account?.notes ?? ""} maxLength={2000} />
        </label>
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
