import { PageTitle } from "../components/page-title";
import { SimpleList } from "../components/simple-list";
import { formatTime } from "../format";
import { t } from "../strings";
import type { Cdr } from "../types";

export function CdrsPage() {
  return (
    <>
      <PageTitle>{t.cdrs.title}</PageTitle>
      <p className="toolbar">
        <a href="/api/v1/cdrs.csv" download>
          {t.cdrs.exportCsv}
        </a>
      </p>
      <SimpleList<Cdr>
        path="/api/v1/cdrs"
        caption={t.cdrs.title}
        columns={[
          { label: t.cdrs.startedAt, value: (c) => formatTime(c.startedAt) },
          { label: t.cdrs.caller, value: (c) => c.caller },
          { label: t.cdrs.callee, value: (c) => c.callee },
          { label: t.cdrs.duration, value: (c) => c.durationSeconds ?? "–" },
          { label: t.cdrs.status, value: (c) => c.status },
        ]}
      />
    </>
  );
}
