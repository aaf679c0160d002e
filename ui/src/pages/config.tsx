/** The effective configuration (read-only), each value with where it comes from (default, file, environment). */
import { useState } from 'preact/hooks';
import { Card, PageHeader } from '../components/layout.js';
import { DataTable } from '../components/data-table.js';
import { Badge } from '../components/status.js';
import { Empty, ErrorBox, Loading } from '../components/feedback.js';
import { useApi } from '../use-api.js';

interface Row {
  key: string;
  value: unknown;
  origin: string | null;
}

const isLeaf = (v: unknown): v is { value: unknown; origin: string } =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && 'origin' in v && 'value' in v && typeof (v as { origin: unknown }).origin === 'string';

/** Flattens the configuration into dotted keys; `{ value, origin }` nodes (or an `origins` map beside the values) give the origin. */
export function flattenConfig(raw: unknown): Row[] {
  if (Array.isArray(raw)) {
    return raw
      .filter((r): r is Record<string, unknown> => typeof r === 'object' && r !== null)
      .map((r) => ({ key: String(r.key ?? r.path ?? r.name ?? ''), value: r.value, origin: typeof r.origin === 'string' ? r.origin : null }));
  }
  const root = raw as Record<string, unknown>;
  for (const k of ['values', 'entries', 'settings']) if (Array.isArray(root?.[k])) return flattenConfig(root[k]);
  const origins = (root?.origins ?? {}) as Record<string, string>;
  const body = (root?.config ?? root?.effective ?? root) as Record<string, unknown>;
  const out: Row[] = [];
  const walk = (v: unknown, path: string) => {
    if (isLeaf(v)) return void out.push({ key: path, value: v.value, origin: v.origin });
    if (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length > 0) {
      for (const [k, c] of Object.entries(v)) if (!(path === '' && k === 'origins')) walk(c, path ? `${path}.${k}` : k);
      return;
    }
    out.push({ key: path, value: v, origin: origins[path] ?? null });
  };
  walk(body, '');
  return out;
}

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
const tone = (o: string | null) => (o === 'env' ? 'warn' : o === 'file' ? 'info' : 'muted');

function Source({ raw }: { raw: unknown }) {
  const o = raw as { home?: string; config_file?: string; config_file_exists?: boolean } | null;
  if (!o?.config_file) return null;
  return (
    <p class="small">
      Data directory <code>{o.home}</code> ·{' '}
      {o.config_file_exists ? (
        <>
          configuration file <code>{o.config_file}</code>
        </>
      ) : (
        <>
          no configuration file (<code>{o.config_file}</code>): defaults and the environment
        </>
      )}
    </p>
  );
}

export function ConfigPage() {
  const { data, error, loading, reload } = useApi<unknown>('/api/config');
  const [filter, setFilter] = useState('');
  const rows = data === null ? [] : flattenConfig(data);
  const shown = filter ? rows.filter((r) => r.key.toLowerCase().includes(filter.toLowerCase())) : rows;
  return (
    <>
      <PageHeader
        title="Configuration"
        lead={
          <>
            The effective configuration, read-only. Change it in <code>config/backup.json</code> (or the environment), then restart the service.
          </>
        }
      />
      {error && <ErrorBox error={error} retry={reload} />}
      {loading && data === null && <Loading what="Loading the configuration" />}
      {data !== null && (
        <Card>
          <Source raw={data} />
          <div class="inline-form">
            <label for="cfg-filter">Filter keys</label>
            <input
              id="cfg-filter"
              type="search"
              value={filter}
              onInput={(e) => setFilter(e.currentTarget.value)}
              placeholder="retention, schedule, dashboard …"
            />
          </div>
          <p class="small muted">
            Origin:{' '}
            <Badge tone="muted" symbol={false}>
              default
            </Badge>{' '}
            built in,{' '}
            <Badge tone="info" symbol={false}>
              file
            </Badge>{' '}
            config/backup.json,{' '}
            <Badge tone="warn" symbol={false}>
              env
            </Badge>{' '}
            an environment variable. Secrets are masked.
          </p>
          {shown.length === 0 ? (
            <Empty title="No key matches" />
          ) : (
            <DataTable
              label="Configuration values"
              class="config"
              rows={shown}
              rowKey={(r) => r.key}
              columns={[
                { header: 'Key', rowHeader: true, cellClass: 'mono', cell: (r) => r.key },
                { header: 'Value', cellClass: 'mono break', cell: (r) => show(r.value) },
                {
                  header: 'Origin',
                  cell: (r) =>
                    r.origin ? (
                      <Badge tone={tone(r.origin)} symbol={false}>
                        {r.origin}
                      </Badge>
                    ) : (
                      <span class="muted">—</span>
                    ),
                },
              ]}
            />
          )}
        </Card>
      )}
    </>
  );
}
