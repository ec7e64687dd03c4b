import { BrowserRouter, Navigate, Route, Routes, useLocation } from "react-router";
import { Layout } from "./components/layout";
import { AccountDetailsPage } from "./pages/account-details";
import { AccountFormPage } from "./pages/account-form";
import { AccountsPage } from "./pages/accounts";
import { AuditPage } from "./pages/audit";
import { CdrsPage } from "./pages/cdrs";
import { GroupPage, GroupsPage } from "./pages/groups";
import { ImportPage } from "./pages/import";
import { ProfilesPage } from "./pages/profiles";
import { SessionsPage } from "./pages/sessions";
import { SetPasswordPage } from "./pages/set-password";
import { SignInPage } from "./pages/sign-in";
import { UsersPage } from "./pages/users";
import { SessionProvider, useSession } from "./session";
import { t } from "./strings";

function SignedInRoutes() {
  return (
    <Layout>
      <Routes>
        <Route path="/accounts" element={<AccountsPage />} />
        <Route path="/accounts/new" element={<AccountFormPage />} />
        <Route path="/accounts/import" element={<ImportPage />} />
        <Route path="/accounts/:id" element={<AccountDetailsPage />} />
        <Route path="/accounts/:id/edit" element={<AccountFormPage />} />
        <Route path="/groups" element={<GroupsPage />} />
        <Route path="/groups/:id" element={<GroupPage />} />
        <Route path="/users" element={<UsersPage />} />
        <Route path="/profiles" element={<ProfilesPage />} />
        <Route path="/cdrs" element={<CdrsPage />} />
        <Route path="/audit" element={<AuditPage />} />
        <Route path="/sessions" element={<SessionsPage />} />
        <Route path="*" element={<Navigate to="/accounts" replace />} />
      </Routes>
    </Layout>
  );
}

function Gate() {
  const { session } = useSession();
  const location = useLocation();
  if (location.pathname.startsWith("/password/")) {
    return (
      <Routes>
        <Route path="/password/:token" element={<SetPasswordPage />} />
      </Routes>
    );
  }
  if (session === undefined) return <p aria-live="polite">{t.loading}</p>;
  if (session === null) return <SignInPage />;
  return <SignedInRoutes />;
}

/** The console at /console/: the set-password page for anyone, sign-in until signed in, then the pages. */
export function App() {
  return (
    <BrowserRouter basename="/console">
      <SessionProvider>
        <Gate />
      </SessionProvider>
    </BrowserRouter>
  );
}
