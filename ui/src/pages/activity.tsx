/** Tasks the service ran, restore drills, and alerts (active and resolved). */
import { Card, PageHeader } from '../components/layout.js';
import { DataTable } from '../components/data-table.js';
import { Badge, StatusBadge, statusTone } from '../components/status.js';
import { Empty, ErrorBox, Loading } from '../components/feedback.js';
import { formatMs, formatSeconds, formatTime } from '../format.js';
import { href } from '../router.js';
import type { Alert, Drill, Task } from '../types.js';
import { useApi } from '../use-api.js';

function asList<T>(raw: unknown, ...keys: string[]): T[] {
  if (Array.isArray(raw)) return raw as T[];
  for (const k of keys) {
    const v = (raw as Record<string, unknown> | null)?.[k];
    if (Array.isArray(v)) return v as T[];
  }
  return [];
}

function Tasks() {
  const { data, error, loading, reload } = useApi<unknown>('/api/tasks', true);
  const tasks = asList<Task>(data, 'tasks');
  return (
    <Card title="Tasks">
      {error && <ErrorBox error={error} retry={reload} />}
      {loading && data === null && <Loading />}
      {data !== null && tasks.length === 0 && (
        <Empty title="No tasks in the last days">
          The service records each job it runs here; start it with <code>prism start</code>.
        </Empty>
      )}
      {tasks.length > 0 && (
        <DataTable
          label="Tasks"
          rows={tasks}
          rowKey={(_, i) => i}
          columns={[
            { header: 'Started', cell: (t) => formatTime(t.started_at) },
            { header: 'Job', cell: (t) => t.job },
            { header: 'Trigger', cell: (t) => t.trigger },
            { header: 'Status', cell: (t) => <StatusBadge status={t.status} /> },
            { header: 'Duration', class: 'num', cell: (t) => formatMs(Date.parse(t.finished_at) - Date.parse(t.started_at)) },
            {
              header: 'Result',
              cellClass: 'small',
              cell: (t) => (
                <>
                  {t.error_code && <span class="mono">{t.error_code} </span>}
                  {t.message}
                </>
              ),
            },
          ]}
        />
      )}
    </Card>
  );
}

function Drills() {
  const { data, error, loading, reload } = useApi<unknown>('/api/drills', true);
  const drills = asList<Drill>(data, 'drills', 'history')
    .slice()
    .sort((a, b) => Date.parse(b.time) - Date.parse(a.time));
  return (
    <Card title="Restore drills">
      {error && <ErrorBox error={error} retry={reload} />}
      {loading && data === null && <Loading />}
      {data !== null && drills.length === 0 && (
        <Empty title="No drills yet">
          A drill restores a backup into a scratch directory and checks it; run one with <code>prism drill</code>.
        </Empty>
      )}
      {drills.length > 0 && (
        <DataTable
          label="Restore drills"
          rows={drills}
          rowKey={(_, i) => i}
          columns={[
            { header: 'Time', cell: (d) => formatTime(d.time) },
            {
              header: 'Backup',
              cell: (d) => (
                <>
                  {d.backup_id ? (
                    <a class="mono" href={href('backups', d.backup_id)}>
                      {d.backup_id}
                    </a>
                  ) : (
                    '—'
                  )}
                  {d.repository && d.repository !== 'primary' && <div class="small muted">copy {d.repository}</div>}
                </>
              ),
            },
            { header: 'Status', cell: (d) => <StatusBadge status={d.status} /> },
            {
              header: 'RTO',
              class: 'num',
              cell: (d) => (
                <>
                  {formatSeconds(d.rto_seconds)}
                  {d.within_target === false && <Badge tone="warn">over target</Badge>}
                </>
              ),
            },
            { header: 'Target', class: 'num', cell: (d) => formatSeconds(d.target_seconds) },
            { header: 'Note', cellClass: 'small', cell: (d) => (typeof d.error === 'string' ? d.error : (d.error?.message ?? '')) },
          ]}
        />
      )}
    </Card>
  );
}

function Alerts() {
  const { data, error, loading, reload } = useApi<Record<string, unknown>>('/api/alerts', true);
  const active = asList<Alert>(data, 'active');
  const past = asList<Alert>(data, 'resolved', 'history');
  const rows = [...active.map((a) => ({ ...a, state: 'active' as const })), ...past.map((a) => ({ ...a, state: 'resolved' as const }))];
  return (
    <Card title="Alerts">
      {error && <ErrorBox error={error} retry={reload} />}
      {loading && data === null && <Loading />}
      {data !== null && rows.length === 0 && (
        <Empty title="No alerts, active or past">
          Alert rules are checked after each job and by <code>prism alerts</code>.
        </Empty>
      )}
      {rows.length > 0 && (
        <DataTable
          label="Alerts"
          rows={rows}
          rowKey={(a, i) => `${a.key}-${i}`}
          columns={[
            {
              header: 'State',
              cell: (a) => (
                <>
                  <Badge tone={a.state === 'active' ? 'bad' : 'muted'}>{a.state}</Badge>
                  {a.acknowledged && <div class="small muted">acknowledged</div>}
                </>
              ),
            },
            { header: 'Severity', cell: (a) => <Badge tone={statusTone(a.severity)}>{a.severity}</Badge> },
            {
              header: 'Alert',
              cell: (a) => (
                <>
                  {a.message}
                  {a.fix && a.state === 'active' && <div class="small muted">What to do: {a.fix}</div>}
                  <div class="small muted mono">{a.key}</div>
                </>
              ),
            },
            { header: 'Raised', cell: (a) => formatTime(a.raised_at) },
            { header: 'Resolved', cell: (a) => (a.state === 'resolved' ? formatTime(a.resolved_at) : '—') },
          ]}
        />
      )}
    </Card>
  );
}

export function ActivityPage() {
  return (
    <>
      <PageHeader title="Tasks, drills and alerts" lead="What the service ran, how the restore drills went, and every alert raised." />
      <Alerts />
      <Drills />
      <Tasks />
    </>
  );
}
