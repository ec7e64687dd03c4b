import { PageTitle } from "../components/page-title";
import { SimpleList } from "../components/simple-list";
import { formatTime } from "../format";
import { t } from "../strings";
import type { AuditEvent } from "../types";

export function AuditPage() {
  return (
    <>
      <PageTitle>{t.audit.title}</PageTitle>
      <p className="toolbar">
        <a href="/api/v1/audit-events.csv" download>
          {t.audit.exportCsv}
        </a>
      </p>
      <SimpleList<AuditEvent>
        path="/api/v1/audit-events"
        caption={t.audit.title}
        columns={[
          { label: t.audit.occurredAt, value: (e) => formatTime(e.occurredAt) },
          { label: t.audit.actor, value: (e) => e.actor.label },
          { label: t.audit.action, value: (e) => e.action },
          { label: t.audit.target, value: (e) => `${e.targetType} ${e.targetId ?? ""}` },
        ]}
      />
    </>
  );
}
