/** Copies of the repository (backup.copies): each copy's newest backup, lag and last run. */
import { Card, PageHeader } from '../components/layout.js';
import { DataTable } from '../components/data-table.js';
import { Badge, StatusBadge } from '../components/status.js';
import { Empty, ErrorBox, Loading } from '../components/feedback.js';
import { formatBytes, formatCount, formatRelative, formatSeconds, formatTime } from '../format.js';
import { href } from '../router.js';
import type { CopyStatus } from '../types.js';
import { useApi } from '../use-api.js';

function normalize(raw: unknown): CopyStatus[] {
  if (Array.isArray(raw)) return raw as CopyStatus[];
  const o = raw as { copies?: CopyStatus[] } | null;
  return o?.copies ?? [];
}

export function CopiesPage() {
  const { data, error, loading, reload } = useApi<unknown>('/api/copies', true);
  const copies = normalize(data);
  return (
    <>
      <PageHeader title="Copies" lead="The copies of the repository (3-2-1): how far each is behind the primary, and its last run." />
      {error && <ErrorBox error={error} retry={reload} />}
      {loading && data === null && <Loading what="Reading the copies" />}
      {data !== null && copies.length === 0 && (
        <Empty title="No copies configured">
          Add a copy to <code>backup.copies</code> in <code>config/backup.json</code> (a directory, S3, Azure or SFTP location), or copy by hand with{' '}
          <code>prism backup copy --all --to PATH</code>. See docs/copies.md.
        </Empty>
      )}
      {copies.length > 0 && (
        <Card>
          <DataTable
            label="Copies"
            rows={copies}
            rowKey={(c) => c.name}
            columns={[
              {
                header: 'Copy',
                rowHeader: true,
                cell: (c) => (
                  <>
                    {c.name}
                    <div class="muted small mono break">{c.repository}</div>
                    <div class="muted small">{c.after_backup ? 'after each backup' : c.schedule ? `schedule ${c.schedule}` : 'by hand'}</div>
                  </>
                ),
              },
              {
                header: 'State',
                cell: (c) => (
                  <>
                    {c.error ? (
                      <Badge tone="bad" title={c.error.message}>
                        unreadable
                      </Badge>
                    ) : c.lag.backups === 0 ? (
                      <Badge tone="ok">up to date</Badge>
                    ) : (
                      <Badge tone="warn">behind</Badge>
                    )}
                    {c.error && <div class="small">{c.error.message}</div>}
                  </>
                ),
              },
              { header: 'Backups', class: 'num', cell: (c) => (c.backups === null ? '—' : formatCount(c.backups)) },
              {
                header: 'Newest backup',
                cell: (c) =>
                  c.latest ? (
                    <a href={href('backups', c.latest.id)} class="mono">
                      {c.latest.id}
                    </a>
                  ) : (
                    <span class="muted">none yet</span>
                  ),
              },
              {
                header: 'Lag',
                cell: (c) => (
                  <>
                    {formatCount(c.lag.backups)} backup{c.lag.backups === 1 ? '' : 's'}
                    {c.lag.seconds !== null && c.lag.seconds > 0 && <div class="small muted">{formatSeconds(c.lag.seconds)} behind</div>}
                  </>
                ),
              },
              {
                header: 'Last run',
                cell: (c) =>
                  c.last_run ? (
                    <>
                      <StatusBadge status={c.last_run.status} /> <span title={formatTime(c.last_run.at)}>{formatRelative(c.last_run.at)}</span>
                      <div class="small muted">
                        {formatCount(c.last_run.copied)} copied, {formatBytes(c.last_run.bytes)}
                      </div>
                      {c.last_run.error && <div class="small">{c.last_run.error.message}</div>}
                    </>
                  ) : (
                    <span class="muted">never ran</span>
                  ),
              },
            ]}
          />
        </Card>
      )}
    </>
  );
}
