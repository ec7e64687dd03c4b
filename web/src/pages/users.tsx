import { type FormEvent, useState } from "react";
import { api, type Page } from "../api";
import { Field } from "../components/field";
import { PageTitle } from "../components/page-title";
import { ProblemAlert } from "../components/problem-alert";
import { useSignedIn } from "../session";
import { t } from "../strings";
import type { Role, User } from "../types";
import { useLoad } from "../use-load";
import { allGroups } from "./accounts";

const assignable: Role[] = ["company_admin", "group_admin", "group_supervisor"];

/** Users with their roles and groups (company admins and operators; seed: "only seen by company admin user roles"). */
export function UsersPage() {
  const { user: me } = useSignedIn();
  const users = useLoad(async () => (await api.get<Page<User>>("/api/v1/users?pageSize=500")).items, []);
  const groups = useLoad(allGroups, []);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [role, setRole] = useState<Role>("group_admin");
  const groupName = new Map((groups.data ?? []).map((group) => [group.id, group.name]));

  async function create(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const body: Record<string, unknown> = {
      email: String(form.get("email") ?? "").trim(),
      name: String(form.get("name") ?? "").trim(),
      role,
    };
    if (role === "company_admin")
      body.organisationId = me.organisationId ?? String(form.get("organisationId") ?? "");
    else body.groupId = String(form.get("groupId") ?? "");
    setError(null);
    setNotice(null);
    const target = event.currentTarget;
    try {
      await api.post("/api/v1/users", body);
      target.reset();
      await users.reload();
    } catch (reason) {
      setError(reason);
    }
  }

  async function invite(user: User) {
    setError(null);
    setNotice(null);
    try {
      await api.post(`/api/v1/users/${user.id}/invitation`);
      setNotice(t.users.invited(user.email));
    } catch (reason) {
      setError(reason);
    }
  }

  return (
    <>
      <PageTitle>{t.users.title}</PageTitle>
      <ProblemAlert error={error ?? users.error} />
      {notice ? <p role="status">{notice}</p> : null}
      <table>
        <caption className="visually-hidden">{t.users.title}</caption>
        <thead>
          <tr>
            <th scope="col">{t.users.name}</th>
            <th scope="col">{t.users.email}</th>
            <th scope="col">{t.users.role}</th>
            <th scope="col">{t.users.group}</th>
            <th scope="col">{t.users.active}</th>
            <th scope="col">
              <span className="visually-hidden">{t.users.invite}</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(users.data ?? []).map((user) => (
            <tr key={user.id}>
              <td>{user.name}</td>
              <td>{user.email}</td>
              <td>{t.roles[user.role] ?? user.role}</td>
              <td>{user.groupId ? (groupName.get(user.groupId) ?? user.groupId) : "–"}</td>
              <td>{user.active ? t.yes : t.no}</td>
              <td>
                <button
                  type="button"
                  onClick={() => invite(user)}
                  aria-label={`${t.users.invite}: ${user.email}`}
                >
                  {t.users.invite}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form onSubmit={create} aria-label={t.users.newUser} className="inline-form">
        <h2>{t.users.newUser}</h2>
        <Field label={t.users.email}>
          {(control) => <input {...control} name="email" type="email" required />}
        </Field>
        <Field label={t.users.name}>
          {(control) => <input {...control} name="name" required maxLength={200} />}
        </Field>
        <Field label={t.users.role}>
          {(control) => (
            <select
              {...control}
              name="role"
              value={role}
              onChange={(event) => setRole(event.target.value as Role)}
            >
              {assignable.map((value) => (
                <option key={value} value={value}>
                  {t.roles[value]}
                </option>
              ))}
            </select>
          )}
        </Field>
        {role === "company_admin" && me.role === "operator" ? (
          <Field label={t.users.organisationId}>
            {(control) => <input {...control} name="organisationId" required />}
          </Field>
        ) : null}
        {role !== "company_admin" ? (
          <Field label={t.users.group}>
            {(control) => (
              <select {...control} name="groupId" required defaultValue="">
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
        ) : null}
        <button type="submit">{t.users.create}</button>
      </form>
    </>
  );
}
