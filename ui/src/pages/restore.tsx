/** Restore: a backup (or the one in effect at a time), paths, a target directory; a dry-run preview, then confirm. */
import { useEffect, useState } from 'preact/hooks';
import { ApiFailure, apiPath, getJson, postJson } from '../api.js';
import { Card, PageHeader } from '../components/layout.js';
import { Badge, OkBadge } from '../components/status.js';
import { Callout, ErrorBox } from '../components/feedback.js';
import { formatBytes, formatCount, formatMs, formatTime, fromLocalInput } from '../format.js';
import type { Route } from '../router.js';
import type { BackupPage } from '../types.js';
import { useApi } from '../use-api.js';

type Part = number | string[] | { count: number; bytes?: number } | undefined;

interface RestoreReply {
  backup?: string;
  target?: string;
  dry_run?: boolean;
  created?: Part;
  overwritten?: Part;
  deleted?: Part;
  plan?: Record<'create' | 'overwrite' | 'remove', { count: number; bytes: number }> & { unchanged?: number };
  changes?: Partial<Record<'create' | 'overwrite' | 'remove', string[]>>;
  files?: number;
  dirs?: number;
  bytes?: number;
  problems?: { path?: string; message?: string; code?: string }[];
  duration_ms?: number;
  safety_backup?: string | null;
}

interface Part3 {
  count: number;
  bytes: number | null;
  paths: string[];
}

function part(r: RestoreReply, flat: Part, key: 'create' | 'overwrite' | 'remove'): Part3 {
  const paths = Array.isArray(flat) ? flat : (r.changes?.[key] ?? []);
  if (typeof flat === 'number') return { count: flat, bytes: r.plan?.[key]?.bytes ?? null, paths };
  if (flat && !Array.isArray(flat)) return { count: flat.count, bytes: flat.bytes ?? null, paths };
  if (Array.isArray(flat)) return { count: flat.length, bytes: r.plan?.[key]?.bytes ?? null, paths };
  const p = r.plan?.[key];
  return { count: p?.count ?? paths.length, bytes: p?.bytes ?? null, paths };
}

function Preview({ r }: { r: RestoreReply }) {
  const rows: [string, Part3, 'ok' | 'warn' | 'bad'][] = [
    ['Created', part(r, r.created, 'create'), 'ok'],
    ['Overwritten', part(r, r.overwritten, 'overwrite'), 'warn'],
    ['Deleted', part(r, r.deleted, 'remove'), 'bad'],
  ];
  return (
    <div class="preview" data-testid="restore-preview">
      <div class="grid grid-3">
        {rows.map(([label, p, tone]) => (
          <div class="stat" key={label} data-testid={`preview-${label.toLowerCase()}`}>
            <Badge tone={p.count === 0 ? 'muted' : tone}>{label}</Badge>
            <span class="stat-value">{formatCount(p.count)}</span>
            <span class="muted small">{p.bytes !== null ? formatBytes(p.bytes) : ''}</span>
          </div>
        ))}
      </div>
      {rows.some(([, p]) => p.paths.length > 0) && (
        <details>
          <summary>Paths in the preview</summary>
          {rows.map(([label, p]) =>
            p.paths.length === 0 ? null : (
              <div key={label}>
                <h3>{label}</h3>
                <ul class="mono small diff-list">
                  {p.paths.slice(0, 300).map((x) => (
                    <li key={x}>{x}</li>
                  ))}
                  {p.paths.length > 300 && <li class="muted">… and {formatCount(p.paths.length - 300)} more</li>}
                </ul>
              </div>
            ),
          )}
        </details>
      )}
    </div>
  );
}

export function RestorePage({ route }: { route: Route }) {
  const recent = useApi<BackupPage>(apiPath('/api/backups', { per_page: 100 }), true);
  const [mode, setMode] = useState<'backup' | 'time'>('backup');
  const [backup, setBackup] = useState(route.query.get('backup') ?? '');
  const [at, setAt] = useState('');
  const [resolved, setResolved] = useState<{ id: string; started_at: string } | null>(null);
  const [paths, setPaths] = useState('');
  const [target, setTarget] = useState('');
  const [busy, setBusy] = useState<'dry' | 'real' | null>(null);
  const [preview, setPreview] = useState<{ key: string; reply: RestoreReply } | null>(null);
  const [result, setResult] = useState<RestoreReply | null>(null);
  const [error, setError] = useState<ApiFailure | null>(null);
  const [checked, setChecked] = useState(false);

  useEffect(() => {
    if (!backup && recent.data && recent.data.items.length > 0) {
      const ok = recent.data.items.find((b) => b.status === 'completed') ?? recent.data.items[0]!;
      setBackup(ok.id);
    }
  }, [recent.data]);

  useEffect(() => {
    if (mode !== 'time' || !at) return setResolved(null);
    const iso = fromLocalInput(at);
    if (!iso) return setResolved(null);
    const ctl = new AbortController();
    getJson<BackupPage>(apiPath('/api/backups', { to: iso, status: 'completed', per_page: 1 }), ctl.signal).then(
      (p) => setResolved(p.items[0] ? { id: p.items[0].id, started_at: p.items[0].started_at } : null),
      () => setResolved(null),
    );
    return () => ctl.abort();
  }, [mode, at]);

  const chosen = mode === 'backup' ? backup : (resolved?.id ?? '');
  const pathList = paths
    .split('\n')
    .map((p) => p.trim())
    .filter(Boolean);
  const key = JSON.stringify([chosen, pathList, target.trim()]);
  const targetOk = target.trim().startsWith('/');
  const body = (dry: boolean) => ({ backup: chosen, ...(pathList.length ? { paths: pathList } : {}), target: target.trim(), dry_run: dry });

  const run = async (dry: boolean) => {
    setBusy(dry ? 'dry' : 'real');
    setError(null);
    if (dry) setResult(null);
    try {
      const r = await postJson<RestoreReply>('/api/restore', body(dry));
      if (dry) {
        setPreview({ key, reply: r });
        setChecked(false);
      } else {
        setResult(r);
        setPreview(null);
      }
    } catch (e) {
      setError(e as ApiFailure);
    } finally {
      setBusy(null);
    }
  };
  const previewed = preview && preview.key === key;

  return (
    <>
      <PageHeader
        title="Restore"
        lead="Bring files of a backup back into a directory. A dry run shows what would change; nothing is written until you confirm."
      />
      <Callout tone="info">
        <strong>Restoring over the live data directory stays with the command line</strong>, because the service must be stopped first: <code>prism stop</code>,
        then <code>prism backup restore BACKUP_ID --dry-run</code> and <code>prism backup restore BACKUP_ID --confirm</code>, then <code>prism start</code>.
        Here you restore into another directory (the server refuses the data directory and anything inside it).
      </Callout>
      <form
        class="card form restore-form"
        onSubmit={(e) => {
          e.preventDefault();
          void run(true);
        }}
      >
        <fieldset>
          <legend>What to restore</legend>
          <div class="radio-row">
            <label>
              <input type="radio" name="mode" checked={mode === 'backup'} onChange={() => setMode('backup')} /> A backup
            </label>
            <label>
              <input type="radio" name="mode" checked={mode === 'time'} onChange={() => setMode('time')} /> The state at a time
            </label>
          </div>
          {mode === 'backup' ? (
            <>
              <label for="r-backup">Backup</label>
              <input id="r-backup" class="mono" list="r-backups" value={backup} onInput={(e) => setBackup(e.currentTarget.value)} required />
              <datalist id="r-backups">
                {recent.data?.items.map((b) => (
                  <option value={b.id} key={b.id}>
                    {b.type}, {b.status}, {formatTime(b.started_at)}
                  </option>
                ))}
              </datalist>
              <p class="hint">Type an id or pick one of the 100 newest.</p>
            </>
          ) : (
            <>
              <label for="r-at">Time (your time zone)</label>
              <input id="r-at" type="datetime-local" value={at} onInput={(e) => setAt(e.currentTarget.value)} />
              <p class="hint" aria-live="polite">
                {resolved ? (
                  <>
                    The newest completed backup before then: <span class="mono">{resolved.id}</span> ({formatTime(resolved.started_at)})
                  </>
                ) : at ? (
                  'No completed backup before that time.'
                ) : (
                  'The newest completed backup before this time is restored.'
                )}
              </p>
            </>
          )}
        </fieldset>
        <label for="r-paths">Paths to include (one per line; empty: everything)</label>
        <textarea
          id="r-paths"
          rows={3}
          class="mono"
          placeholder={'level-1-hot\nconfig/backup.json'}
          value={paths}
          onInput={(e) => setPaths(e.currentTarget.value)}
        />
        <label for="r-target">Target directory (absolute path on the server)</label>
        <input
          id="r-target"
          class="mono"
          value={target}
          placeholder="/srv/restore/2026-12-07"
          onInput={(e) => setTarget(e.currentTarget.value)}
          aria-invalid={target !== '' && !targetOk}
          aria-describedby="r-target-hint"
          required
        />
        <p id="r-target-hint" class={target !== '' && !targetOk ? 'field-error' : 'hint'}>
          {target !== '' && !targetOk ? 'Give an absolute path, starting with /.' : 'Created if missing. Files there that the backup lacks are kept.'}
        </p>
        <div class="actions">
          <button class="btn btn-primary" type="submit" disabled={!chosen || !targetOk || busy !== null}>
            {busy === 'dry' ? 'Working out the changes…' : 'Preview (dry run)'}
          </button>
        </div>
      </form>
      {error && <ErrorBox error={error} title={error.status === 409 ? 'Refused' : 'The restore did not run'} />}
      {preview && (
        <Card title="Preview">
          {!previewed && <Callout tone="warn">The form changed since this preview: run the dry run again before confirming.</Callout>}
          <p class="small muted">
            Backup <span class="mono">{preview.reply.backup ?? chosen}</span> into <span class="mono">{preview.reply.target ?? target}</span>
          </p>
          <Preview r={preview.reply} />
          <div class="confirm">
            <label>
              <input type="checkbox" checked={checked} onChange={(e) => setChecked(e.currentTarget.checked)} disabled={!previewed} /> I have checked the
              preview: restore these files into <span class="mono">{target}</span>
            </label>
            <button type="button" class="btn btn-danger" disabled={!previewed || !checked || busy !== null} onClick={() => void run(false)}>
              {busy === 'real' ? 'Restoring…' : 'Restore now'}
            </button>
          </div>
        </Card>
      )}
      {result && (
        <Card title="Restored">
          <div role="status" data-testid="restore-result">
            <OkBadge ok={(result.problems?.length ?? 0) === 0} yes="Restore finished" no="Restore finished with problems" />
            <p>
              {formatCount(result.files ?? 0)} files, {formatCount(result.dirs ?? 0)} directories, {formatBytes(result.bytes ?? 0)} into{' '}
              <span class="mono">{result.target ?? target}</span> in {formatMs(result.duration_ms ?? null)}.
            </p>
            {result.problems && result.problems.length > 0 && (
              <ul class="small">
                {result.problems.map((p, i) => (
                  <li key={i}>
                    {p.code} {p.path}: {p.message}
                  </li>
                ))}
              </ul>
            )}
          </div>
        </Card>
      )}
    </>
  );
}
