import { type FormEvent, useState } from "react";
import { Link, useParams } from "react-router";
import { ApiError, api, type Page } from "../api";
import { Field } from "../components/field";
import { PageTitle } from "../components/page-title";
import { ProblemAlert } from "../components/problem-alert";
import { useSignedIn } from "../session";
import { t } from "../strings";
import { type Group, mayAct, type Organisation, type User } from "../types";
import { useLoad } from "../use-load";
import { allGroups } from "./accounts";

/** A count the groups API may carry (they land with the groups work): shown when it is there. */
function count(group: Group, key: string): string {
  const value = group[key];
  return typeof value === "number" ? String(value) : "–";
}

/** Groups with their sub-groups below them, depth-first in name order. */
function tree(groups: Group[]): { group: Group; depth: number }[] {
  const children = new Map<string | null, Group[]>();
  const ids = new Set(groups.map((group) => group.id));
  for (const group of groups) {
    // A sub-group whose parent the user cannot see shows at the top.
    const parent = group.parentId && ids.has(group.parentId) ? group.parentId : null;
    children.set(parent, [...(children.get(parent) ?? []), group]);
  }
  const out: { group: Group; depth: number }[] = [];
  const visit = (parent: string | null, depth: number) => {
    for (const group of children.get(parent) ?? []) {
      out.push({ group, depth });
      visit(group.id, depth + 1);
    }
  };
  visit(null, 0);
  return out;
}

function GroupForm({ parent, onCreated }: { parent: Group | null; onCreated(): void }) {
  const { user } = useSignedIn();
  const organisations = useLoad(
    async () =>
      user.role === "operator"
        ? (await api.get<Page<Organisation>>("/api/v1/organisations?pageSize=500")).items
        : [],
    [user.role],
  );
  const [error, setError] = useState<unknown>(null);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const reference = String(form.get("reference") ?? "").trim();
    const body: Record<string, unknown> = { name: String(form.get("name") ?? "").trim() };
    if (reference) body.reference = reference;
    if (parent) body.parentId = parent.id;
    else body.organisationId = String(form.get("organisationId") ?? "") || user.organisationId;
    setError(null);
    try {
      await api.post("/api/v1/groups", body);
      event.currentTarget?.reset();
      onCreated();
    } catch (reason) {
      setError(reason);
    }
  }

  const label = parent ? t.groups.newSubgroup : t.groups.newGroup;
  return (
    <form onSubmit={submit} aria-label={label} className="inline-form">
      <h2>{label}</h2>
      <ProblemAlert error={error} />
      {!parent && user.role === "operator" ? (
        <Field label={t.groups.organisation}>
          {(control) => (
            <select {...control} name="organisationId" required defaultValue="">
              <option value="" disabled>
                {t.groups.organisation}
              </option>
              {(organisations.data ?? []).map((organisation) => (
                <option key={organisation.id} value={organisation.id}>
                  {organisation.name}
                </option>
              ))}
            </select>
          )}
        </Field>
      ) : null}
      <Field label={t.groups.name}>
        {(control) => <input {...control} name="name" required maxLength={200} />}
      </Field>
      <Field label={t.groups.reference}>
        {(control) => <input {...control} name="reference" maxLength={100} />}
      </Field>
      <button type="submit">{t.groups.create}</button>
    </form>
  );
}

function GroupTable({ rows }: { rows: { group: Group; depth: number }[] }) {
  return (
    <table>
      <caption className="visually-hidden">{t.groups.title}</caption>
      <thead>
        <tr>
          <th scope="col">{t.groups.name}</th>
          <th scope="col">{t.groups.reference}</th>
          <th scope="col">{t.groups.active}</th>
          <th scope="col">{t.groups.activeAccounts}</th>
          <th scope="col">{t.groups.dueSoon}</th>
          <th scope="col">
            <span className="visually-hidden">{t.groups.details}</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {rows.map(({ group, depth }) => (
          <tr key={group.id}>
            <td className={`depth-${Math.min(depth, 4)}`}>{group.name}</td>
            <td>{group.reference ?? "–"}</td>
            <td>{group.active ? t.yes : t.no}</td>
            <td>{count(group, "activeAccounts")}</td>
            <td>{count(group, "dueSoon")}</td>
            <td>
              <Link to={`/groups/${group.id}`} aria-label={`${t.groups.details} ${group.name}`}>
                {t.groups.details}
              </Link>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function GroupsPage() {
  const { user } = useSignedIn();
  const groups = useLoad(allGroups, []);
  const [onlyActive, setOnlyActive] = useState(false);
  const shown = (groups.data ?? []).filter((group) => !onlyActive || group.active);
  return (
    <>
      <PageTitle>{t.groups.title}</PageTitle>
      <fieldset aria-label={t.groups.groupFilter} className="tabs filter">
        <button type="button" aria-pressed={!onlyActive} onClick={() => setOnlyActive(false)}>
          {t.groups.all}
        </button>
        <button type="button" aria-pressed={onlyActive} onClick={() => setOnlyActive(true)}>
          {t.groups.onlyActive}
        </button>
      </fieldset>
      <ProblemAlert error={groups.error} />
      <GroupTable rows={tree(shown)} />
      {user.role === "operator" || user.role === "company_admin" ? (
        <GroupForm parent={null} onCreated={() => void groups.reload()} />
      ) : null}
    </>
  );
}

export function GroupPage() {
  const { id = "" } = useParams();
  const { user } = useSignedIn();
  const group = useLoad(() => api.get<Group>(`/api/v1/groups/${id}`), [id]);
  const groups = useLoad(allGroups, [id]);
  // Members land with the groups work; until then the API has no such list and none is shown.
  const members = useLoad(async () => {
    try {
      const answer = await api.get<{ userIds?: string[]; items?: User[] }>(`/api/v1/groups/${id}/members`);
      return answer.items ?? null;
    } catch (error) {
      if (error instanceof ApiError && (error.problem.status === 404 || error.problem.status === 405))
        return null;
      throw error;
    }
  }, [id]);
  const data = group.data;
  const subgroups = (groups.data ?? []).filter((item) => item.parentId === id);
  return (
    <>
      <PageTitle>{data ? data.name : t.groups.details}</PageTitle>
      <ProblemAlert error={group.error} />
      {data ? (
        <>
          <dl className="fields">
            <div>
              <dt>{t.groups.reference}</dt>
              <dd>{data.reference ?? "–"}</dd>
            </div>
            <div>
              <dt>{t.groups.active}</dt>
              <dd>{data.active ? t.yes : t.no}</dd>
            </div>
            <div>
              <dt>{t.groups.activeAccounts}</dt>
              <dd>{count(data, "activeAccounts")}</dd>
            </div>
          </dl>
          <p>
            <Link to={`/accounts?groupId=${data.id}`}>{t.groups.accounts}</Link>
          </p>
          {members.data ? (
            <section aria-labelledby="members" className="section">
              <h2 id="members">{t.groups.members}</h2>
              <ul>
                {members.data.map((member) => (
                  <li key={member.id}>
                    {member.name} ({member.email}, {t.roles[member.role] ?? member.role})
                  </li>
                ))}
              </ul>
            </section>
          ) : null}
          <section aria-labelledby="subgroups" className="section">
            <h2 id="subgroups">{t.groups.subgroups}</h2>
            {subgroups.length ? (
              <GroupTable rows={tree(subgroups).map((row) => ({ ...row, depth: 0 }))} />
            ) : (
              <p className="empty">{t.none}</p>
            )}
          </section>
          {mayAct(user.role) ? <GroupForm parent={data} onCreated={() => void groups.reload()} /> : null}
        </>
      ) : null}
    </>
  );
}
