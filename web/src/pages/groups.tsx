import { type FormEvent, useState } from "react";
import { Link, useParams, useSearchParams } from "react-router";
import { api, type Page, query } from "../api";
import { Field } from "../components/field";
import { PageTitle } from "../components/page-title";
import { ProblemAlert } from "../components/problem-alert";
import { useSignedIn } from "../session";
import { t } from "../strings";
import {
  type Group,
  type GroupMembers,
  type ListedGroup,
  mayAct,
  mayManageUsers,
  type Organisation,
  type User,
} from "../types";
import { useLoad } from "../use-load";

/** The groups with their counts; `hasActiveDevices` is the server's filter, not the page's. */
async function listedGroups(hasActiveDevices?: boolean): Promise<ListedGroup[]> {
  const path = `/api/v1/groups${query({ pageSize: 500, sort: "name", hasActiveDevices })}`;
  return (await api.get<Page<ListedGroup>>(path)).items;
}

/** Groups with their sub-groups below them, depth-first in name order. */
function tree<G extends Group>(groups: G[]): { group: G; depth: number }[] {
  const children = new Map<string | null, G[]>();
  const ids = new Set(groups.map((group) => group.id));
  for (const group of groups) {
    // A sub-group whose parent the user cannot see shows at the top.
    const parent = group.parentId && ids.has(group.parentId) ? group.parentId : null;
    children.set(parent, [...(children.get(parent) ?? []), group]);
  }
  const out: { group: G; depth: number }[] = [];
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

function GroupTable({ rows }: { rows: { group: ListedGroup; depth: number }[] }) {
  return (
    <table>
      <caption className="visually-hidden">{t.groups.title}</caption>
      <thead>
        <tr>
          <th scope="col">{t.groups.name}</th>
          <th scope="col">{t.groups.reference}</th>
          <th scope="col">{t.groups.active}</th>
          <th scope="col">{t.groups.activeDevices}</th>
          <th scope="col">{t.groups.dueForRenewal}</th>
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
            <td data-testid={`active-devices-${group.id}`}>{group.activeDevices}</td>
            <td data-testid={`due-for-renewal-${group.id}`}>{group.dueForRenewal}</td>
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
  const [params, setParams] = useSearchParams();
  // "Active" is the portal's active group: one with at least one active device (issue 16).
  const onlyActive = params.get("hasActiveDevices") === "true";
  const setOnlyActive = (value: boolean) => setParams(value ? { hasActiveDevices: "true" } : {});
  const groups = useLoad(() => listedGroups(onlyActive || undefined), [onlyActive]);
  const shown = groups.data ?? [];
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
  // The list carries the counts; the single group does not.
  const groups = useLoad(listedGroups, [id]);
  const members = useLoad(() => api.get<GroupMembers>(`/api/v1/groups/${id}/members`), [id]);
  const data = group.data;
  const listed = (groups.data ?? []).find((item) => item.id === id);
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
              <dt>{t.groups.activeDevices}</dt>
              <dd>{listed ? listed.activeDevices : "–"}</dd>
            </div>
            <div>
              <dt>{t.groups.dueForRenewal}</dt>
              <dd>{listed ? listed.dueForRenewal : "–"}</dd>
            </div>
          </dl>
          <p>
            <Link to={`/accounts?groupId=${data.id}`}>{t.groups.accounts}</Link>
          </p>
          <section aria-labelledby="members" className="section">
            <h2 id="members">{t.groups.members}</h2>
            <ProblemAlert error={members.error} />
            {members.data ? (
              <Members
                group={data}
                organisationGroupIds={
                  new Set(
                    (groups.data ?? [])
                      .filter((item) => item.organisationId === data.organisationId)
                      .map((item) => item.id),
                  )
                }
                members={members.data}
                editable={mayManageUsers(user.role)}
                onSaved={() => void members.reload()}
              />
            ) : null}
          </section>
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

/**
 * The users assigned to the group; company admins and operators replace the whole set with a
 * checkbox per group-role user of the organisation (PUT takes every member from now on).
 */
function Members(props: {
  group: Group;
  organisationGroupIds: ReadonlySet<string>;
  members: GroupMembers;
  editable: boolean;
  onSaved(): void;
}) {
  const { group, members } = props;
  const [editing, setEditing] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const candidates = useLoad(async () => {
    if (!editing) return [];
    // Group-role users carry no organisationId (the users list's organisationId filter misses
    // them): they belong to the organisation whose groups they are assigned to.
    const users = (await api.get<Page<User>>(`/api/v1/users${query({ pageSize: 500 })}`)).items;
    const inOrganisation = (item: User) =>
      [item.groupId, ...item.groupIds].some((id) => id !== null && props.organisationGroupIds.has(id));
    return users.filter(
      (item) =>
        (item.role === "group_admin" || item.role === "group_supervisor") &&
        (inOrganisation(item) || members.userIds.includes(item.id)),
    );
  }, [editing, group.organisationId]);

  async function save(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const userIds = new FormData(event.currentTarget).getAll("userIds").map(String);
    setError(null);
    try {
      await api.put(`/api/v1/groups/${group.id}/members`, { userIds });
      setEditing(false);
      setSaved(true);
      props.onSaved();
    } catch (reason) {
      setError(reason);
    }
  }

  return (
    <>
      {members.users.length ? (
        <ul aria-label={t.groups.members}>
          {members.users.map((member) => (
            <li key={member.id}>
              {member.name} ({member.email}, {t.roles[member.role] ?? member.role})
            </li>
          ))}
        </ul>
      ) : (
        <p className="empty">{t.groups.noMembers}</p>
      )}
      {saved ? <p role="status">{t.groups.membersSaved}</p> : null}
      {props.editable && !editing ? (
        <button
          type="button"
          onClick={() => {
            setSaved(false);
            setEditing(true);
          }}
        >
          {t.groups.editMembers}
        </button>
      ) : null}
      {editing ? (
        <form onSubmit={save} aria-label={t.groups.editMembers} className="inline-form">
          <ProblemAlert error={error ?? candidates.error} />
          <fieldset>
            <legend>{t.groups.members}</legend>
            {(candidates.data ?? []).map((candidate) => (
              <label key={candidate.id}>
                <input
                  type="checkbox"
                  name="userIds"
                  value={candidate.id}
                  defaultChecked={members.userIds.includes(candidate.id)}
                />{" "}
                {candidate.name} ({candidate.email})
              </label>
            ))}
          </fieldset>
          <button type="submit">{t.groups.saveMembers}</button>
          <button type="button" onClick={() => setEditing(false)}>
            {t.cancel}
          </button>
        </form>
      ) : null}
    </>
  );
}
