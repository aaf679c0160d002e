/** Databases: each database's tables with rows and sizes per backup; a single-table restore into another database, dry run first. */
import { useEffect, useState } from 'preact/hooks';
import { ApiFailure, postJson } from '../api.js';
import { Card, PageHeader } from '../components/layout.js';
import { DataTable } from '../components/data-table.js';
import { Badge, OkBadge } from '../components/status.js';
import { Callout, Empty, ErrorBox, Loading } from '../components/feedback.js';
import { formatBytes, formatCount, formatMs, formatTime } from '../format.js';
import { href, navigate, type Route } from '../router.js';
import type { DbRecord } from '../types.js';
import { useApi } from '../use-api.js';

interface BackupDbs {
  backup: string;
  started_at?: string;
  databases: DbRecord[];
}

/** `/api/databases` as a list of backups with their databases, newest first, whatever envelope it comes in. */
function normalize(raw: unknown): BackupDbs[] {
  const o = raw as { backups?: unknown; items?: unknown } | null;
  const list = Array.isArray(raw) ? raw : Array.isArray(o?.items) ? o.items : Array.isArray(o?.backups) ? o.backups : raw ? [raw] : [];
  return (list as Partial<BackupDbs & { id: string }>[])
    .map((b) => ({ backup: b.backup ?? b.id ?? '', ...(b.started_at ? { started_at: b.started_at } : {}), databases: b.databases ?? [] }))
    .filter((b) => b.backup && b.databases.length > 0);
}

interface DbRestoreReply {
  backup: string;
  database: string;
  target: string;
  dry_run: boolean;
  plan: { name: string; action: 'replace' | 'create'; current_rows: number | null; backup_rows: number }[];
  warnings: string[];
  tables: { name: string; action: string; safety_copy: string | null; rows_expected: number; rows_restored: number; ok: boolean }[];
  drop_safety_copies: string[];
  verified: boolean;
  duration_ms: number;
}

function TableRestore({ entry }: { entry: BackupDbs }) {
  const [database, setDatabase] = useState(entry.databases[0]?.name ?? '');
  const db = entry.databases.find((d) => d.name === database);
  const [table, setTable] = useState(db?.tables[0]?.name ?? '');
  const [into, setInto] = useState('');
  const [busy, setBusy] = useState<'dry' | 'real' | null>(null);
  const [plan, setPlan] = useState<{ key: string; r: DbRestoreReply } | null>(null);
  const [done, setDone] = useState<DbRestoreReply | null>(null);
  const [error, setError] = useState<ApiFailure | null>(null);
  useEffect(() => setTable(db?.tables[0]?.name ?? ''), [database]);
  const key = JSON.stringify([entry.backup, database, table, into.trim()]);
  const run = async (dry: boolean) => {
    setBusy(dry ? 'dry' : 'real');
    setError(null);
    try {
      const r = await postJson<DbRestoreReply>('/api/databases/restore', { backup: entry.backup, database, table, into: into.trim(), dry_run: dry });
      if (dry) {
        setPlan({ key, r });
        setDone(null);
      } else {
        setDone(r);
        setPlan(null);
      }
    } catch (e) {
      setError(e as ApiFailure);
    } finally {
      setBusy(null);
    }
  };
  return (
    <Card title="Restore one table into another database">
      <form
        class="form form-grid"
        onSubmit={(e) => {
          e.preventDefault();
          void run(true);
        }}
      >
        <div class="field">
          <label for="t-db">Database</label>
          <select id="t-db" value={database} onChange={(e) => setDatabase(e.currentTarget.value)}>
            {entry.databases.map((d) => (
              <option value={d.name} key={d.name}>
                {d.name} ({d.type})
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="t-table">Table</label>
          <select id="t-table" value={table} onChange={(e) => setTable(e.currentTarget.value)}>
            {db?.tables.map((t) => (
              <option value={t.name} key={t.name}>
                {t.name}
              </option>
            ))}
          </select>
        </div>
        <div class="field field-wide">
          <label for="t-into">Into database (URL of another database)</label>
          <input
            id="t-into"
            class="mono"
            value={into}
            placeholder="postgres://user@127.0.0.1:5432/scratch"
            onInput={(e) => setInto(e.currentTarget.value)}
            required
          />
        </div>
        <div class="field field-actions">
          <button class="btn btn-primary" type="submit" disabled={!table || !into.trim() || busy !== null}>
            {busy === 'dry' ? 'Planning…' : 'Preview (dry run)'}
          </button>
        </div>
      </form>
      {error && <ErrorBox error={error} title="The table restore did not run" />}
      {plan && (
        <div data-testid="db-preview">
          <h3>Preview</h3>
          {plan.key !== key && <Callout tone="warn">The form changed since this preview: run the dry run again.</Callout>}
          <ul>
            {plan.r.plan.map((p) => (
              <li key={p.name}>
                <Badge tone={p.action === 'replace' ? 'warn' : 'ok'}>{p.action === 'replace' ? 'replaced' : 'created'}</Badge>{' '}
                <span class="mono">{p.name}</span>: {formatCount(p.backup_rows)} rows from the backup
                {p.current_rows !== null && `, replacing ${formatCount(p.current_rows)} rows (kept as a safety copy)`}
              </li>
            ))}
          </ul>
          {plan.r.warnings.map((w, i) => (
            <Callout tone="warn" key={i}>
              {w}
            </Callout>
          ))}
          <button type="button" class="btn btn-danger" disabled={plan.key !== key || busy !== null} onClick={() => void run(false)}>
            {busy === 'real' ? 'Restoring…' : `Restore ${table} into ${plan.r.target}`}
          </button>
        </div>
      )}
      {done && (
        <div role="status" data-testid="db-result">
          <OkBadge ok={done.verified} yes="Restored and verified" no="Restored, verification failed" />
          <ul>
            {done.tables.map((t) => (
              <li key={t.name}>
                <span class="mono">{t.name}</span>: {formatCount(t.rows_restored)} of {formatCount(t.rows_expected)} rows
                {t.safety_copy && (
                  <>
                    {' '}
                    · previous data kept in <span class="mono">{t.safety_copy}</span>
                  </>
                )}
              </li>
            ))}
          </ul>
          <p class="small muted">Took {formatMs(done.duration_ms)}.</p>
          {done.drop_safety_copies.length > 0 && (
            <p class="small">
              Once the data is confirmed, drop the safety copies: <code>{done.drop_safety_copies.join(' ')}</code>
            </p>
          )}
        </div>
      )}
    </Card>
  );
}

export function DatabasesPage({ route }: { route: Route }) {
  const { data, error, loading, reload } = useApi<unknown>('/api/databases?per_page=100', true);
  const list = normalize(data);
  const chosen = route.query.get('backup') ?? list[0]?.backup ?? '';
  const entry = list.find((b) => b.backup === chosen) ?? list[0];
  return (
    <>
      <PageHeader
        title="Databases"
        lead="The databases dumped with each backup: tables, rows and sizes. Restore one table into another database to look at it."
      />
      {error && <ErrorBox error={error} retry={reload} />}
      {loading && !data && <Loading what="Loading the databases" />}
      {data !== null && list.length === 0 && (
        <Empty title="No database in any backup">
          Add the databases to <code>backup.databases</code> in <code>config/backup.json</code>; the next backup dumps them. See docs/databases.md.
        </Empty>
      )}
      {entry && (
        <>
          <div class="card form">
            <label for="db-backup">Backup</label>
            <select id="db-backup" value={entry.backup} onChange={(e) => navigate(href('databases', { backup: e.currentTarget.value }))}>
              {list.map((b) => (
                <option value={b.backup} key={b.backup}>
                  {b.backup}
                  {b.started_at ? ` (${formatTime(b.started_at)})` : ''}
                </option>
              ))}
            </select>
          </div>
          {entry.databases.map((d) => (
            <Card title={`${d.name} (${d.type === 'postgres' ? 'PostgreSQL' : 'MySQL/MariaDB'})`} key={d.name}>
              <p class="small muted">
                {formatCount(d.tables.length)} tables, {formatBytes(d.bytes)}
                {d.server_version && ` · server ${d.server_version}`}
                {d.dumped_at && ` · dumped ${formatTime(d.dumped_at)}`}
              </p>
              <DataTable
                label={`Tables of ${d.name}`}
                rows={d.tables}
                rowKey={(t) => t.name}
                empty="The dump holds no tables."
                columns={[
                  { header: 'Table', cellClass: 'mono', cell: (t) => t.name },
                  { header: 'Rows', class: 'num', cell: (t) => formatCount(t.rows) },
                  { header: 'Size', class: 'num', cell: (t) => formatBytes(t.bytes) },
                ]}
              />
            </Card>
          ))}
          <TableRestore entry={entry} key={entry.backup} />
        </>
      )}
    </>
  );
}
