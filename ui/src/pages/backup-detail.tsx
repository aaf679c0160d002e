/** One backup: its facts, chain and dependants, a file browser with search and downloads, a diff with another backup, verify now. */
import type { ComponentChild } from 'preact';
import { useState } from 'preact/hooks';
import { ApiFailure, apiPath, postJson } from '../api.js';
import { Card, PageHeader } from '../components/layout.js';
import { DataTable } from '../components/data-table.js';
import { Badge, OkBadge, StatusBadge, TypeBadge } from '../components/status.js';
import { Callout, Empty, ErrorBox, Loading } from '../components/feedback.js';
import { formatBytes, formatCount, formatMs, formatPercent, formatTime } from '../format.js';
import { href, navigate, type Route } from '../router.js';
import type { Backup, Chain, Dependencies, Diff, FilesReply, VerifyReport } from '../types.js';
import { useApi } from '../use-api.js';

const enc = encodeURIComponent;

function Facts({ b }: { b: Backup }) {
  const s = b.stats;
  const compression = s.original_bytes > 0 ? 1 - s.stored_bytes / s.original_bytes : 0;
  const rows: [string, ComponentChild][] = [
    ['Type', <TypeBadge type={b.type} />],
    ['Status', <StatusBadge status={b.status} />],
    ['Created', formatTime(b.started_at)],
    ['Finished', formatTime(b.finished_at)],
    ['Duration', formatMs(b.duration_ms)],
    ['Trigger', b.trigger],
    ['Original size', formatBytes(s.original_bytes)],
    ['Stored size', formatBytes(s.stored_bytes)],
    ['Compression', formatPercent(compression)],
    ['New data', formatBytes(s.new_bytes)],
    ['Files', `${formatCount(s.files)} files, ${formatCount(s.dirs)} directories, ${formatCount(s.symlinks)} symlinks`],
    ['Read', `${formatCount(s.files_read)} files, ${formatBytes(s.bytes_read)}`],
    [
      'Parent',
      b.parent ? (
        <a href={href('backups', b.parent)} class="mono">
          {b.parent}
        </a>
      ) : (
        '—'
      ),
    ],
    ['Host', b.user ? `${b.user}@${b.host}` : b.host],
    ['Sources', b.sources?.join(', ') ?? '—'],
    ['Checksum', <span class="mono break">{b.checksum ?? '—'}</span>],
    ['Comment', b.comment ?? '—'],
  ];
  return (
    <dl class="facts facts-grid">
      {rows.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

function Lineage({ id }: { id: string }) {
  const chain = useApi<Chain>(`/api/backups/${enc(id)}/chain`);
  const deps = useApi<Dependencies>(`/api/backups/${enc(id)}/dependencies`);
  return (
    <Card title="Chain and dependencies">
      {(chain.loading || deps.loading) && !chain.data && <Loading what="Following the chain" />}
      {chain.error && <ErrorBox error={chain.error} retry={chain.reload} />}
      {chain.data && (
        <ol class="chain" aria-label="Chain from the full backup to this one">
          {chain.data.chain.map((c) => (
            <li key={c.id} aria-current={c.id === id ? 'true' : undefined}>
              {c.id === id ? (
                <strong class="mono">{c.id}</strong>
              ) : (
                <a href={href('backups', c.id)} class="mono">
                  {c.id}
                </a>
              )}{' '}
              <TypeBadge type={c.type} /> <StatusBadge status={c.status} />
            </li>
          ))}
        </ol>
      )}
      {chain.data?.broken_at && (
        <Callout tone="warn">The chain is broken at {chain.data.broken_at} (a parent is missing). This backup is still complete.</Callout>
      )}
      {deps.error && <ErrorBox error={deps.error} retry={deps.reload} />}
      {deps.data &&
        (deps.data.dependants.length === 0 ? (
          <p class="muted">No backup builds on this one.</p>
        ) : (
          <>
            <h3>Backups that build on this one</h3>
            <DataTable
              label="Dependent backups"
              rows={deps.data.dependants}
              rowKey={(d) => d.id}
              columns={[
                {
                  header: 'Backup',
                  cell: (d) => (
                    <a href={href('backups', d.id)} class="mono">
                      {d.id}
                    </a>
                  ),
                },
                { header: 'Status', cell: (d) => <StatusBadge status={d.status} /> },
                {
                  header: 'Shared data',
                  class: 'num',
                  cell: (d) => (
                    <>
                      {formatBytes(d.shared_bytes)} ({d.shared_percent.toFixed(0)}%)
                    </>
                  ),
                },
              ]}
            />
            {deps.data.warning && <p class="small muted">{deps.data.warning}</p>}
          </>
        ))}
    </Card>
  );
}

const ICON_PATHS: Record<string, string> = {
  dir: 'M2 4.5h4l1.5 1.5H14v7H2z',
  file: 'M4 2h5l3 3v9H4z M9 2v3h3',
  symlink: 'M3 12c0-4 3-6 7-6h2 M10 3.5 12.5 6 10 8.5',
};

function Icon({ kind }: { kind: string }) {
  return (
    <svg class="icon" viewBox="0 0 16 16" aria-hidden="true">
      <path d={ICON_PATHS[kind] ?? ICON_PATHS.file} />
    </svg>
  );
}

const baseName = (p: string) => p.split('/').filter(Boolean).pop() ?? p;
const parentOf = (p: string) => p.split('/').filter(Boolean).slice(0, -1).join('/');

/** A path inside the backup as the API reads it: the name as `backup ls --json` prints it, between its quotes (JSON escapes). */
const pathParam = (p: string) => JSON.stringify(p).slice(1, -1);

function FileBrowser({ id, path, query }: { id: string; path: string; query: string }) {
  const [draft, setDraft] = useState(query);
  const files = useApi<FilesReply>(apiPath(`/api/backups/${enc(id)}/files`, { path: pathParam(path), q: query }));
  const at = (p: string, q?: string) => href('backups', id, { path: p === '' ? undefined : p, q });
  /** An entry's path as the links take it: without its leading slash. */
  const rel = (p: string) => p.replace(/^\/+/, '');
  const crumbs = path.split('/').filter(Boolean);
  return (
    <Card title="Files">
      <div class="browser-bar">
        <nav aria-label="Folder" class="crumbs">
          <a href={at('')}>root</a>
          {crumbs.map((c, i) => (
            <span key={i}>
              {' / '}
              <a href={at(crumbs.slice(0, i + 1).join('/'))}>{c}</a>
            </span>
          ))}
        </nav>
        <form
          role="search"
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            navigate(at(path, draft.trim() || undefined));
          }}
        >
          <label for="file-search" class="sr-only">
            Search by name below this folder
          </label>
          <input id="file-search" type="search" placeholder="Search names below this folder" value={draft} onInput={(e) => setDraft(e.currentTarget.value)} />
          <button class="btn" type="submit">
            Search
          </button>
        </form>
      </div>
      {files.error && <ErrorBox error={files.error} retry={files.reload} />}
      {files.loading && !files.data && <Loading what="Reading the folder" />}
      {files.data && (
        <>
          {query && (
            <p class="small">
              {formatCount(files.data.entries.length)} match{files.data.entries.length === 1 ? '' : 'es'} for “{query}”
              {files.data.truncated && ' (the first 1,000: narrow the search)'} · <a href={at(path)}>clear the search</a>
            </p>
          )}
          {files.data.entries.length === 0 ? (
            <Empty title={query ? 'Nothing matches' : 'This folder is empty'} />
          ) : (
            <DataTable
              label="Files of the backup"
              class="files"
              lead={path !== '' && !query ? <a href={at(parentOf(path))}>↑ Parent folder</a> : undefined}
              rows={files.data.entries}
              rowKey={(f) => f.path}
              columns={[
                {
                  header: 'Name',
                  cell: (f) =>
                    f.type === 'dir' ? (
                      <a href={at(rel(f.path))} class="entry entry-dir">
                        <Icon kind="dir" />
                        {query ? f.path : baseName(f.path)}/
                      </a>
                    ) : (
                      <span class={`entry entry-${f.type}`}>
                        <Icon kind={f.type === 'symlink' ? 'symlink' : 'file'} />
                        {query ? f.path : baseName(f.path)}
                        {f.target && <span class="muted"> → {f.target}</span>}
                      </span>
                    ),
                },
                { header: 'Size', class: 'num', cell: (f) => (f.type === 'dir' ? '' : formatBytes(f.size)) },
                { header: 'Modified', cell: (f) => formatTime(f.mtime) },
                {
                  header: <span class="sr-only">Download</span>,
                  cell: (f) =>
                    f.type === 'file' && (
                      <a
                        href={apiPath(`/api/backups/${enc(id)}/download`, { path: pathParam(rel(f.path)) })}
                        download={baseName(f.path)}
                        aria-label={`Download ${f.path}`}
                      >
                        Download
                      </a>
                    ),
                },
              ]}
            />
          )}
        </>
      )}
    </Card>
  );
}

function DiffCard({ id, parent }: { id: string; parent: string | null }) {
  const [other, setOther] = useState(parent ?? '');
  const [asked, setAsked] = useState<string | null>(null);
  const diff = useApi<Diff>(asked ? apiPath('/api/diff', { from: asked, to: id }) : null);
  const section = (title: string, list: Diff['added'], tone: 'ok' | 'bad' | 'warn') => (
    <div class="diff-section">
      <h3>
        <Badge tone={tone}>
          {title}: {formatCount(list.length)}
        </Badge>
      </h3>
      {list.length > 0 && (
        <ul class="diff-list mono small">
          {list.slice(0, 200).map((e) => (
            <li key={e.path}>
              {e.path}
              {e.size !== undefined && <span class="muted"> · {formatBytes(e.size)}</span>}
              {e.old_size !== undefined && e.new_size !== undefined && (
                <span class="muted">
                  {' '}
                  · {formatBytes(e.old_size)} → {formatBytes(e.new_size)}
                </span>
              )}
            </li>
          ))}
          {list.length > 200 && <li class="muted">… and {formatCount(list.length - 200)} more (the CLI lists all: prism backup diff)</li>}
        </ul>
      )}
    </div>
  );
  return (
    <Card title="Compare with another backup">
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          setAsked(other.trim() || null);
        }}
      >
        <label for="diff-from">Older backup</label>
        <input id="diff-from" class="mono" value={other} placeholder="backup_YYYYMMDD_HHMMSS_full" onInput={(e) => setOther(e.currentTarget.value)} />
        <button type="submit" class="btn">
          Show differences
        </button>
      </form>
      {diff.error && <ErrorBox error={diff.error} title="Could not compare" />}
      {diff.loading && <Loading what="Comparing" />}
      {diff.data && (
        <div class="diff" data-testid="diff">
          <p class="small muted">
            From <span class="mono">{diff.data.from}</span> to <span class="mono">{diff.data.to}</span>
          </p>
          {section('Added', diff.data.added, 'ok')}
          {section('Removed', diff.data.removed, 'bad')}
          {section('Modified', diff.data.modified, 'warn')}
        </div>
      )}
    </Card>
  );
}

function VerifyButton({ id, onDone }: { id: string; onDone: () => void }) {
  const [busy, setBusy] = useState(false);
  const [report, setReport] = useState<VerifyReport | null>(null);
  const [error, setError] = useState<ApiFailure | null>(null);
  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      setReport(await postJson<VerifyReport>(`/api/backups/${enc(id)}/verify`, {}));
      onDone();
    } catch (e) {
      setError(e as ApiFailure);
    } finally {
      setBusy(false);
    }
  };
  const mine = report?.backups.find((b) => b.id === id);
  return (
    <div class="verify">
      <button type="button" class="btn btn-primary" onClick={run} disabled={busy} aria-describedby="verify-help">
        {busy ? 'Verifying…' : 'Verify now'}
      </button>
      <p id="verify-help" class="small muted">
        Reads and re-hashes every chunk of this backup, as <code>prism backup verify {id}</code>.
      </p>
      {error && <ErrorBox error={error} title="Verification could not run" />}
      {mine && (
        <div role="status" class="verify-result" data-testid="verify-result">
          <OkBadge ok={mine.ok} yes="Checksum verified" no="Damaged" />
          <ul class="small">
            {mine.steps.map((s) => (
              <li key={s.name}>
                <OkBadge ok={s.ok} yes="ok" no="failed" /> {s.name}: {s.detail}
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}

export function BackupDetailPage({ id, route }: { id: string; route: Route }) {
  const info = useApi<Backup>(`/api/backups/${enc(id)}`, true);
  const path = (route.query.get('path') ?? '').replace(/^\/+/, '');
  const q = route.query.get('q') ?? '';
  return (
    <>
      <PageHeader title="Backup" lead={<span class="mono break">{id}</span>}>
        <a class="btn" href={href('restore', { backup: id })}>
          Restore…
        </a>
      </PageHeader>
      <p>
        <a href={href('backups')}>← All backups</a>
      </p>
      {info.error && <ErrorBox error={info.error} retry={info.reload} title={info.error.status === 404 ? 'No such backup' : 'Could not load this backup'} />}
      {info.loading && !info.data && <Loading what="Loading the backup" />}
      {info.data && (
        <>
          <div class="grid grid-2 grid-wide-left">
            <Card title="Details">
              <Facts b={info.data} />
              {info.data.error && (
                <Callout tone="bad">
                  {info.data.error.code}: {info.data.error.message}
                </Callout>
              )}
              {info.data.warnings.length > 0 && (
                <Callout tone="warn">
                  <strong>{info.data.warnings.length} warning(s)</strong>
                  <ul class="small">
                    {info.data.warnings.slice(0, 20).map((w, i) => (
                      <li key={i}>
                        {w.code} {w.path}: {w.message}
                      </li>
                    ))}
                  </ul>
                </Callout>
              )}
            </Card>
            <div class="stack">
              <Card title="Verify">
                <VerifyButton id={id} onDone={info.reload} />
              </Card>
              <Lineage id={id} />
            </div>
          </div>
          {info.data.tree !== null && <FileBrowser id={id} path={path} query={q} key={`${path}?${q}`} />}
          {info.data.databases && info.data.databases.length > 0 && (
            <Card title="Databases" actions={<a href={href('databases', { backup: id })}>Restore a table</a>}>
              <ul>
                {info.data.databases.map((d) => (
                  <li key={d.name}>
                    {d.name} ({d.type}): {formatCount(d.tables.length)} tables, {formatBytes(d.bytes)}
                  </li>
                ))}
              </ul>
            </Card>
          )}
          <DiffCard id={id} parent={info.data.parent} />
        </>
      )}
    </>
  );
}
