import { PageTitle } from "../components/page-title";
import { SimpleList } from "../components/simple-list";
import { t } from "../strings";
import type { Profile } from "../types";

export function ProfilesPage() {
  return (
    <>
      <PageTitle>{t.profiles.title}</PageTitle>
      <SimpleList<Profile>
        path="/api/v1/profiles"
        caption={t.profiles.title}
        columns={[
          { label: t.profiles.name, value: (p) => p.name },
          { label: t.profiles.sipDomain, value: (p) => p.sipDomain },
          { label: t.profiles.serverHost, value: (p) => p.serverHost },
          { label: t.profiles.language, value: (p) => p.announcementLanguage ?? "–" },
          { label: t.profiles.licenseMode, value: (p) => p.licenseMode ?? "–" },
        ]}
      />
    </>
  );
}
