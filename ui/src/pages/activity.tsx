/** Tasks the service ran, restore drills, and alerts (active and resolved). */
import { Card, PageHeader, TableWrap } from '../components/layout.js';
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
        <TableWrap label="Tasks">
          <table>
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">Job</th>
                <th scope="col">Trigger</th>
                <th scope="col">Status</th>
                <th scope="col" class="num">
                  Duration
                </th>
                <th scope="col">Result</th>
              </tr>
            </thead>
            <tbody>
              {tasks.map((t, i) => (
                <tr key={i}>
                  <td>{formatTime(t.started_at)}</td>
                  <td>{t.job}</td>
                  <td>{t.trigger}</td>
                  <td>
                    <StatusBadge status={t.status} />
                  </td>
                  <td class="num">{formatMs(Date.parse(t.finished_at) - Date.parse(t.started_at))}</td>
                  <td class="small">
                    {t.error_code && <span class="mono">{t.error_code} </span>}
                    {t.message}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
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
        <TableWrap label="Restore drills">
          <table>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Backup</th>
                <th scope="col">Status</th>
                <th scope="col" class="num">
                  RTO
                </th>
                <th scope="col" class="num">
                  Target
                </th>
                <th scope="col">Note</th>
              </tr>
            </thead>
            <tbody>
              {drills.map((d, i) => (
                <tr key={i}>
                  <td>{formatTime(d.time)}</td>
                  <td>
                    {d.backup_id ? (
                      <a class="mono" href={href('backups', d.backup_id)}>
                        {d.backup_id}
                      </a>
                    ) : (
                      '—'
                    )}
                    {d.repository && d.repository !== 'primary' && <div class="small muted">copy {d.repository}</div>}
                  </td>
                  <td>
                    <StatusBadge status={d.status} />
                  </td>
                  <td class="num">
                    {formatSeconds(d.rto_seconds)}
                    {d.within_target === false && <Badge tone="warn">over target</Badge>}
                  </td>
                  <td class="num">{formatSeconds(d.target_seconds)}</td>
                  <td class="small">{typeof d.error === 'string' ? d.error : (d.error?.message ?? '')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
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
        <TableWrap label="Alerts">
          <table>
            <thead>
              <tr>
                <th scope="col">State</th>
                <th scope="col">Severity</th>
                <th scope="col">Alert</th>
                <th scope="col">Raised</th>
                <th scope="col">Resolved</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((a, i) => (
                <tr key={`${a.key}-${i}`}>
                  <td>
                    <Badge tone={a.state === 'active' ? 'bad' : 'muted'}>{a.state}</Badge>
                    {a.acknowledged && <div class="small muted">acknowledged</div>}
                  </td>
                  <td>
                    <Badge tone={statusTone(a.severity)}>{a.severity}</Badge>
                  </td>
                  <td>
                    {a.message}
                    {a.fix && a.state === 'active' && <div class="small muted">What to do: {a.fix}</div>}
                    <div class="small muted mono">{a.key}</div>
                  </td>
                  <td>{formatTime(a.raised_at)}</td>
                  <td>{a.state === 'resolved' ? formatTime(a.resolved_at) : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
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
