/**
 * The API path each page reads first, from the address alone: the pages ask for it, and boot.ts
 * asks for it while the pages' code still loads. No imports, so boot.js stays a few hundred bytes.
 */

/** localStorage: this browser had a session (the page then loads its data before the session is checked). */
export const HAD_SESSION = 'prism.had-session';

/** Path segments after `#/` (decoded) and the query of a hash route. */
export interface Route {
  parts: string[];
  query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#\/?/, '');
  const [path = '', search = ''] = raw.split('?', 2);
  const parts = path
    .split('/')
    .filter((p) => p !== '')
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  return { parts, query: new URLSearchParams(search) };
}

/** Builds `/api/x?a=1&b=2`, leaving out empty values. */
export function apiPath(path: string, query: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** A `datetime-local` or date value (local time) → ISO UTC, or '' when empty or invalid. */
export function fromLocalInput(value: string, endOfDay = false): string {
  if (!value) return '';
  const v = /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T${endOfDay ? '23:59:59.999' : '00:00:00'}` : value;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

/** The backups the list shows a page at a time. */
export const BACKUPS_PER_PAGE = 50;

/** The list of backups for the route's filters and page (`#/backups?type=full&page=3`). */
export function backupsListPath(query: URLSearchParams): string {
  const page = Math.max(1, Number.parseInt(query.get('page') ?? '1', 10) || 1);
  return apiPath('/api/backups', {
    type: query.get('type') ?? '',
    status: query.get('status') ?? '',
    from: fromLocalInput(query.get('from') ?? ''),
    to: fromLocalInput(query.get('to') ?? '', true),
    page,
    per_page: BACKUPS_PER_PAGE,
  });
}

/** What the page of `route` reads first, for the pages whose data the address names alone; null for the others. */
export function firstDataPath(route: Route): string | null {
  const [name = 'overview', id] = route.parts;
  if (name === 'overview') return '/api/overview';
  if (name === 'history') return '/api/history';
  if (name === 'backups' && id === undefined) return backupsListPath(route.query);
  return null;
}
