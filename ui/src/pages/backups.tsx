/** Backups: the list with the CLI's filters (type, from/to, status) and paging; each row links to its detail. */
import { useState } from 'preact/hooks';
import { backupsListPath } from '../data-paths.js';
import { PageHeader } from '../components/layout.js';
import { DataTable } from '../components/data-table.js';
import { StatusBadge, TypeBadge } from '../components/status.js';
import { Empty, ErrorBox, Loading } from '../components/feedback.js';
import { formatBytes, formatCount, formatMs, formatShortTime, formatTime } from '../format.js';
import { href, navigate, type Route } from '../router.js';
import type { BackupPage } from '../types.js';
import { useApi } from '../use-api.js';

export function BackupsPage({ route }: { route: Route }) {
  const q = route.query;
  const filters = { type: q.get('type') ?? '', status: q.get('status') ?? '', from: q.get('from') ?? '', to: q.get('to') ?? '' };
  const page = Math.max(1, Number.parseInt(q.get('page') ?? '1', 10) || 1);
  const path = backupsListPath(q);
  const { data, error, loading, reload } = useApi<BackupPage>(path, true);
  const [draft, setDraft] = useState(filters);
  const apply = (e: Event) => {
    e.preventDefault();
    navigate(href('backups', { ...draft, page: undefined }));
  };
  const pages = data ? Math.max(1, Math.ceil(data.total / data.per_page)) : 1;
  const go = (p: number) => href('backups', { ...filters, page: p > 1 ? p : undefined });
  return (
    <>
      <PageHeader title="Backups" lead="Every backup of the repository, newest first. Open one for its files, chain, verification and a diff." />
      <form class="filters card" onSubmit={apply} aria-label="Filter backups">
        <div class="field">
          <label for="f-type">Type</label>
          <select id="f-type" value={draft.type} onChange={(e) => setDraft({ ...draft, type: e.currentTarget.value })}>
            <option value="">Any</option>
            <option value="full">Full</option>
            <option value="incremental">Incremental</option>
          </select>
        </div>
        <div class="field">
          <label for="f-status">Status</label>
          <select id="f-status" value={draft.status} onChange={(e) => setDraft({ ...draft, status: e.currentTarget.value })}>
            <option value="">Any</option>
            <option value="completed">Completed</option>
            <option value="partial">Partial</option>
            <option value="failed">Failed</option>
            <option value="corrupted">Corrupted</option>
          </select>
        </div>
        <div class="field">
          <label for="f-from">From</label>
          <input id="f-from" type="date" value={draft.from} onInput={(e) => setDraft({ ...draft, from: e.currentTarget.value })} />
        </div>
        <div class="field">
          <label for="f-to">To</label>
          <input id="f-to" type="date" value={draft.to} onInput={(e) => setDraft({ ...draft, to: e.currentTarget.value })} />
        </div>
        <div class="field field-actions">
          <button class="btn btn-primary" type="submit">
            Apply
          </button>
          <a class="btn" href={href('backups')} onClick={() => setDraft({ type: '', status: '', from: '', to: '' })}>
            Clear
          </a>
        </div>
      </form>
      {error && <ErrorBox error={error} retry={reload} />}
      {!data && loading && <Loading what="Loading backups" />}
      {data && data.items.length === 0 && (
        <Empty title={data.total === 0 && !filters.type && !filters.status && !filters.from && !filters.to ? 'No backups yet' : 'No backup matches'}>
          {data.total === 0 ? (
            <>
              Change the filters, or make a backup: <code>prism backup create --type full</code>.
            </>
          ) : (
            <>
              Page {page} is past the end. <a href={go(1)}>Go to the first page</a>.
            </>
          )}
        </Empty>
      )}
      {data && data.items.length > 0 && (
        <>
          <p class="muted small" aria-live="polite" data-testid="backup-total">
            {formatCount(data.total)} backup{data.total === 1 ? '' : 's'} · page {data.page} of {formatCount(pages)}
          </p>
          <DataTable
            label="Backups"
            class={loading ? 'stale' : ''}
            rows={data.items}
            rowKey={(b) => b.id}
            columns={[
              {
                header: 'Backup',
                cell: (b) => (
                  <>
                    <a href={href('backups', b.id)} class="mono">
                      {b.id}
                    </a>
                    <div class="small clip">
                      <TypeBadge type={b.type} />
                      {b.comment && <span class="muted"> · {b.comment}</span>}
                    </div>
                  </>
                ),
              },
              { header: 'Status', cell: (b) => <StatusBadge status={b.status} /> },
              {
                header: 'Created',
                cell: (b) => (
                  <time dateTime={b.started_at} title={formatTime(b.started_at)}>
                    {formatShortTime(b.started_at)}
                  </time>
                ),
              },
              { header: 'Original', class: 'num', cell: (b) => formatBytes(b.stats.original_bytes) },
              { header: 'Stored', class: 'num', cell: (b) => formatBytes(b.stats.stored_bytes) },
              { header: 'New data', class: 'num', cell: (b) => formatBytes(b.stats.new_bytes) },
              { header: 'Files', class: 'num', cell: (b) => formatCount(b.stats.files) },
              { header: 'Duration', class: 'num', cell: (b) => formatMs(b.duration_ms) },
            ]}
          />
          {pages > 1 && (
            <nav class="pager" aria-label="Pages">
              {page > 1 ? (
                <a class="btn" href={go(page - 1)} rel="prev">
                  ← Newer
                </a>
              ) : (
                <span class="btn" aria-disabled="true">
                  ← Newer
                </span>
              )}
              <span class="muted small">
                Page {page} of {formatCount(pages)}
              </span>
              {page < pages ? (
                <a class="btn" href={go(page + 1)} rel="next">
                  Older →
                </a>
              ) : (
                <span class="btn" aria-disabled="true">
                  Older →
                </span>
              )}
            </nav>
          )}
        </>
      )}
    </>
  );
}
