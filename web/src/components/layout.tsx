import { type ReactNode, useState } from "react";
import { NavLink } from "react-router";
import { useSession, useSignedIn } from "../session";
import { t } from "../strings";
import { mayManageUsers } from "../types";
import { ProblemAlert } from "./problem-alert";

/** The frame of every signed-in page: skip link, navigation, who is signed in, "Sign out". */
export function Layout({ children }: { children: ReactNode }) {
  const session = useSignedIn();
  const { signOut } = useSession();
  const [error, setError] = useState<unknown>(null);
  const { user } = session;
  const links: Array<[string, string]> = [
    ["/accounts", t.nav.accounts],
    ["/groups", t.nav.groups],
    ...(mayManageUsers(user.role) ? ([["/users", t.nav.users]] as Array<[string, string]>) : []),
    ["/profiles", t.nav.profiles],
    ["/cdrs", t.nav.cdrs],
    ["/audit", t.nav.audit],
    ["/sessions", t.nav.sessions],
  ];
  return (
    <>
      <a className="skip-link" href="#main">
        {t.skipToContent}
      </a>
      <header className="top">
        <span className="brand">{t.appName}</span>
        <nav aria-label={t.mainNavigation}>
          <ul>
            {links.map(([to, label]) => (
              <li key={to}>
                <NavLink to={to}>{label}</NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <span className="who">{t.signedInAs(user.name, t.roles[user.role] ?? user.role)}</span>
        <button type="button" onClick={() => signOut().catch(setError)}>
          {t.signIn.signOut}
        </button>
      </header>
      <ProblemAlert error={error} />
      <main id="main">{children}</main>
    </>
  );
}
