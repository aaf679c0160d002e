/** Overview: the three health indicators, active alerts by severity, the last backup of each kind, the next runs, the job running now. */
import { Card, PageHeader } from '../components/layout.js';
import { DataTable } from '../components/data-table.js';
import { Badge, OkBadge, StatusBadge, statusTone } from '../components/status.js';
import { Empty, ErrorBox, Loading } from '../components/feedback.js';
import { LiveJob } from '../components/progress.js';
import { formatBytes, formatRelative, formatTime, humanize } from '../format.js';
import { useLive } from '../live.js';
import { href } from '../router.js';
import type { Alert, Backup, Indicator, Overview, Severity } from '../types.js';
import { useApi } from '../use-api.js';

const INDICATOR: Record<string, { title: string; value: (v: number) => string; limit: (t: number) => string }> = {
  recent_success: {
    title: 'Last successful backup',
    value: (v) => (v < 1 / 60 ? '< 1 min ago' : `${v < 1 ? `${Math.round(v * 60)} min` : `${v.toFixed(1)} h`} ago`),
    limit: (t) => `within ${t} h`,
  },
  failure_rate: { title: 'Failure rate (30 days)', value: (v) => `${v.toFixed(1)}%`, limit: (t) => `under ${t}%` },
  storage: { title: 'Backup disk used', value: (v) => `${v.toFixed(1)}%`, limit: (t) => `under ${t}%` },
};

function IndicatorCard({ ind }: { ind: Indicator }) {
  const meta = INDICATOR[ind.name] ?? { title: humanize(ind.name), value: (v: number) => String(v), limit: (t: number) => `threshold ${t}` };
  return (
    <section class={`card indicator indicator-${ind.ok ? 'ok' : 'bad'}`} data-testid={`indicator-${ind.name}`} aria-label={meta.title}>
      <div class="indicator-head">
        <h2>{meta.title}</h2>
        <OkBadge ok={ind.ok} yes="Healthy" no="Attention" />
      </div>
      <p class="indicator-value">{ind.value === null ? 'none yet' : meta.value(ind.value)}</p>
      <p class="muted small">Threshold: {meta.limit(ind.threshold)}</p>
      <p class="small">{ind.message}</p>
    </section>
  );
}

const SEVERITIES: Severity[] = ['critical', 'high', 'medium'];

function AlertsCard({ alerts }: { alerts: Alert[] }) {
  return (
    <Card title="Active alerts" actions={<a href={href('activity')}>Alert history</a>}>
      <div class="severity-counts">
        {SEVERITIES.map((s) => (
          <div class={`severity severity-${alerts.some((a) => a.severity === s) ? s : 'none'}`} key={s}>
            <span class="severity-count" data-testid={`alerts-${s}`}>
              {alerts.filter((a) => a.severity === s).length}
            </span>
            <span>{s}</span>
          </div>
        ))}
      </div>
      {alerts.length === 0 ? (
        <Empty title="No active alerts">Every alert rule is satisfied.</Empty>
      ) : (
        <ul class="alert-list">
          {[...alerts]
            .sort((a, b) => SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity))
            .map((a) => (
              <li key={a.key}>
                <Badge tone={statusTone(a.severity)}>{a.severity}</Badge> <strong>{a.message}</strong>
                {a.fix && <p class="small muted">What to do: {a.fix}</p>}
                <p class="small muted">
                  {a.key}
                  {a.raised_at && ` · since ${formatTime(a.raised_at)}`}
                  {a.acknowledged && ' · acknowledged'}
                </p>
              </li>
            ))}
        </ul>
      )}
    </Card>
  );
}

function LastBackups({ last }: { last: Record<string, Backup | null> }) {
  const kinds = Object.keys(last);
  return (
    <Card title="Last backup of each kind" actions={<a href={href('backups')}>All backups</a>}>
      {kinds.length === 0 ? (
        <Empty title="No backups yet">
          Run <code>prism backup create --type full</code>, or start the service (<code>prism start</code>) to follow the schedule.
        </Empty>
      ) : (
        <DataTable
          label="Last backup of each kind"
          rows={kinds}
          rowKey={(k) => k}
          rowTestId={(k) => `last-${k}`}
          columns={[
            { header: 'Kind', rowHeader: true, cell: (k) => humanize(k) },
            {
              header: 'Backup',
              // a kind without a backup says so across the row
              span: (k) => (last[k] ? 1 : 4),
              cellClass: (k) => (last[k] ? undefined : 'muted'),
              cell: (k) => {
                const b = last[k];
                return b ? (
                  <a href={href('backups', b.id)} class="mono">
                    {b.id}
                  </a>
                ) : (
                  'none yet'
                );
              },
            },
            { header: 'Status', cell: (k) => <StatusBadge status={last[k]!.status} /> },
            {
              header: 'When',
              cell: (k) => (
                <time dateTime={last[k]!.started_at} title={formatTime(last[k]!.started_at)}>
                  {formatRelative(last[k]!.started_at)}
                </time>
              ),
            },
            { header: 'Size', class: 'num', cell: (k) => formatBytes(last[k]!.stats.original_bytes) },
          ]}
        />
      )}
    </Card>
  );
}

export function OverviewPage() {
  const { data, error, loading, reload } = useApi<Overview>('/api/overview', true);
  const live = useLive();
  if (error) return <ErrorBox error={error} retry={reload} />;
  if (!data) return loading ? <Loading what="Loading the overview" /> : null;
  const alerts = Array.isArray(data.alerts) ? data.alerts : (data.alerts?.active ?? []);
  const st = data.status;
  const jobs = [...(st.jobs ?? [])].filter((j) => j.next_run).sort((a, b) => Date.parse(a.next_run!) - Date.parse(b.next_run!));
  return (
    <>
      <PageHeader
        title="Overview"
        lead={
          <>
            <OkBadge ok={data.health.healthy} yes="All indicators healthy" no="Needs attention" />{' '}
            <span class="muted small">evaluated {formatTime(data.health.evaluated_at)}</span>
          </>
        }
      />
      <div class="grid grid-3">
        {data.health.indicators.map((i) => (
          <IndicatorCard ind={i} key={i.name} />
        ))}
      </div>
      <Card title="Running now">
        {live.running.length === 0 ? (
          <p class="muted" data-testid="no-running">
            No backup, restore, copy or verification is running.{' '}
            {st.running ? (
              'The service waits for the next scheduled run.'
            ) : (
              <>
                The service is not running: start it with <code>prism start</code>.
              </>
            )}
          </p>
        ) : (
          live.running.map((p) => <LiveJob p={p} key={p.pid} />)
        )}
      </Card>
      <div class="grid grid-2">
        <AlertsCard alerts={alerts} />
        <Card title="Service and next runs">
          <p>
            {st.running ? <Badge tone="ok">Service running</Badge> : <Badge tone="warn">Service stopped</Badge>}{' '}
            {st.running && st.started_at && (
              <span class="muted small">
                pid {st.pid}, since {formatTime(st.started_at)}
              </span>
            )}
          </p>
          {jobs.length === 0 ? (
            <Empty title="Nothing scheduled">The configuration has no schedule (backup.schedule).</Empty>
          ) : (
            <DataTable
              label="Next scheduled runs"
              rows={jobs}
              rowKey={(j) => j.job}
              columns={[
                {
                  header: 'Job',
                  rowHeader: true,
                  cell: (j) => (
                    <>
                      {humanize(j.job)}
                      <div class="muted small mono">{j.schedule}</div>
                    </>
                  ),
                },
                {
                  header: 'Next run',
                  cell: (j) => (
                    <>
                      <time dateTime={j.next_run!}>{formatTime(j.next_run)}</time>
                      <div class="muted small">{formatRelative(j.next_run)}</div>
                    </>
                  ),
                },
                { header: 'Last result', cell: (j) => (j.last?.status ? <StatusBadge status={j.last.status} /> : <span class="muted">not run yet</span>) },
              ]}
            />
          )}
        </Card>
      </div>
      <LastBackups last={data.last ?? {}} />
      {data.health.disk && (
        <p class="muted small">
          Backup disk: {formatBytes(data.health.disk.free)} free of {formatBytes(data.health.disk.total)}.
        </p>
      )}
    </>
  );
}
