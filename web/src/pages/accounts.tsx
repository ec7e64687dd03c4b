import { type FormEvent, Fragment } from "react";
import { Link, useSearchParams } from "react-router";
import { api, type Page, query } from "../api";
import { Field } from "../components/field";
import { PageTitle } from "../components/page-title";
import { ProblemAlert } from "../components/problem-alert";
import { formatTime } from "../format";
import { useSignedIn } from "../session";
import { t } from "../strings";
import { type Account, type Group, mayAct, type Subscription } from "../types";
import { useLoad } from "../use-load";

/** The tabs: each one a filter of the list (status, or the subscription's state). */
const tabs = [
  { label: t.accounts.all, filter: {} },
  { label: t.accounts.active, filter: { status: "active" } },
  { label: t.accounts.activationPending, filter: { subscription: "activation_pending" } },
  { label: t.accounts.deactivationPending, filter: { subscription: "deactivation_pending" } },
] as const;

const pageSizes = [10, 25, 50, 100, 200];

export async function allGroups(): Promise<Group[]> {
  return (await api.get<Page<Group>>("/api/v1/groups?pageSize=500&sort=name")).items;
}

export function AccountsPage() {
  const { user } = useSignedIn();
  const [params, setParams] = useSearchParams();
  const status = params.get("status") ?? "";
  const subscription = params.get("subscription") ?? "";
  const q = params.get("q") ?? "";
  const groupId = params.get("groupId") ?? "";
  const page = Number(params.get("page") ?? 1) || 1;
  const pageSize = Number(params.get("pageSize") ?? 25) || 25;
  const filter = { status, subscription, q, groupId };

  const list = useLoad(
    () => api.get<Page<Account>>(`/api/v1/accounts${query({ ...filter, page, pageSize })}`),
    [status, subscription, q, groupId, page, pageSize],
  );
  const groups = useLoad(allGroups, []);
  const groupName = new Map((groups.data ?? []).map((group) => [group.id, group.name]));

  function change(next: Record<string, string | number | null>) {
    const merged = new URLSearchParams(params);
    for (const [key, value] of Object.entries(next)) {
      if (value === null || value === "") merged.delete(key);
      else merged.set(key, String(value));
    }
    setParams(merged);
  }

  function search(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    change({ q: String(new FormData(event.currentTarget).get("q") ?? "").trim(), page: null });
  }

  const items = list.data?.items ?? [];
  const total = list.data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / pageSize));
  // The group header shows only when the page holds accounts of several groups (seed: item 8).
  const byGroup = new Map<string, Account[]>();
  for (const account of items)
    byGroup.set(account.groupId, [...(byGroup.get(account.groupId) ?? []), account]);
  const grouped = byGroup.size > 1;
  const exportHref = `/api/v1/accounts.csv${query(filter)}`;

  return (
    <>
      <PageTitle>{t.accounts.title}</PageTitle>
      {mayAct(user.role) ? (
        <p className="toolbar">
          <Link className="button" to="/accounts/new">
            {t.accounts.newAccount}
          </Link>
          <Link className="button" to="/accounts/import">
            {t.accounts.importCsv}
          </Link>
        </p>
      ) : null}
      <nav aria-label={t.accounts.tabs} className="tabs">
        <ul className="tab-list">
          {tabs.map((tab) => {
            const selected =
              ("status" in tab.filter ? tab.filter.status === status : !status) &&
              ("subscription" in tab.filter ? tab.filter.subscription === subscription : !subscription);
            return (
              <li key={tab.label}>
                <Link
                  to={`/accounts${query({ ...tab.filter, q, groupId, pageSize: params.get("pageSize") })}`}
                  aria-current={selected ? "page" : undefined}
                >
                  {tab.label}
                </Link>
              </li>
            );
          })}
        </ul>
      </nav>
      <div className="toolbar">
        <search>
          <form onSubmit={search}>
            <Field label={t.accounts.search}>
              {(control) => <input {...control} name="q" type="search" defaultValue={q} key={q} />}
            </Field>
            <button type="submit">{t.accounts.searchSubmit}</button>
          </form>
        </search>
        <Field label={t.accounts.pageSize}>
          {(control) => (
            <select
              {...control}
              value={pageSize}
              onChange={(event) => change({ pageSize: event.target.value, page: null })}
            >
              {pageSizes.map((size) => (
                <option key={size} value={size}>
                  {size}
                </option>
              ))}
            </select>
          )}
        </Field>
        <a href={exportHref} download>
          {t.accounts.exportCsv}
        </a>
      </div>
      <ProblemAlert error={list.error} />
      {list.loading && !list.data ? <p aria-live="polite">{t.loading}</p> : null}
      {list.data && items.length === 0 ? <p>{t.accounts.empty}</p> : null}
      {items.length > 0 ? (
        <table className="accounts">
          <caption className="visually-hidden">{t.accounts.title}</caption>
          <thead>
            <tr>
              <th scope="col">{t.accounts.username}</th>
              <th scope="col">{t.accounts.displayName}</th>
              <th scope="col">{t.accounts.phoneNumber}</th>
              <th scope="col">{t.accounts.type}</th>
              <th scope="col">{t.accounts.status}</th>
              <th scope="col">{t.subscription.title}</th>
              <th scope="col">{t.accounts.created}</th>
              <th scope="col">
                <span className="visually-hidden">{t.accounts.details}</span>
              </th>
            </tr>
          </thead>
          {[...byGroup.entries()].map(([groupId, accounts]) => (
            <Fragment key={groupId}>
              <tbody>
                {grouped ? (
                  <tr className="group-header">
                    <th scope="rowgroup" colSpan={8}>
                      {groupName.get(groupId) ?? t.accounts.unknownGroup}
                    </th>
                  </tr>
                ) : null}
                {accounts.map((account) => (
                  <tr key={account.id}>
                    <td>{account.username}</td>
                    <td>{account.displayName ?? "–"}</td>
                    <td>{account.phoneNumber ?? "–"}</td>
                    <td>{account.type}</td>
                    <td>
                      <span className={`status status-${account.status}`}>
                        {t.status[account.status] ?? account.status}
                      </span>
                    </td>
                    <td>
                      <SubscriptionSummary subscription={account.subscription} />
                    </td>
                    <td>{formatTime(account.createdAt)}</td>
                    <td>
                      <Link
                        to={`/accounts/${account.id}`}
                        aria-label={`${t.accounts.details} ${account.username}`}
                      >
                        {t.accounts.details}
                      </Link>
                    </td>
                  </tr>
                ))}
              </tbody>
            </Fragment>
          ))}
        </table>
      ) : null}
      <nav aria-label={t.accounts.paging} className="paging">
        <button type="button" disabled={page <= 1} onClick={() => change({ page: page - 1 })}>
          {t.accounts.previous}
        </button>
        <span aria-live="polite">{t.accounts.pageOf(page, pages, total)}</span>
        <button type="button" disabled={page >= pages} onClick={() => change({ page: page + 1 })}>
          {t.accounts.next}
        </button>
      </nav>
    </>
  );
}

/** Plan, state, renewal date and the two renewal flags, as the list shows them. */
export function SubscriptionSummary({ subscription }: { subscription: Subscription }) {
  return (
    <span className="subscription">
      {t.subscription.plans[subscription.billingPlan] ?? subscription.billingPlan}
      {", "}
      {t.subscription.states[subscription.state] ?? subscription.state}
      {subscription.renewsOn ? `, ${t.subscription.renewsOn} ${subscription.renewsOn}` : ""}
      <SubscriptionFlags subscription={subscription} />
    </span>
  );
}

/** "Due soon" and the red "renewed without notice" caution (the details show them too). */
export function SubscriptionFlags({ subscription }: { subscription: Subscription }) {
  return (
    <>
      {subscription.dueSoon ? <span className="badge">{t.subscription.dueSoon}</span> : null}
      {subscription.renewedWithoutNotice ? (
        <span className="caution" role="note">
          {t.subscription.renewedWithoutNotice}
        </span>
      ) : null}
    </>
  );
}
