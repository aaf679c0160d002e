/** Hash routing (`#/backups/ID`): real links, the back button, and nothing sent to the server. */
import { useEffect, useState } from 'preact/hooks';
import { parseHash, type Route } from './data-paths.js';

export { parseHash, type Route };

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

/** `href('backups', id)` → `#/backups/<id>`; query values that are empty are left out. */
export function href(...parts: (string | Record<string, string | number | undefined>)[]): string {
  const segs: string[] = [];
  let q = '';
  for (const p of parts) {
    if (typeof p === 'string') segs.push(encodeURIComponent(p));
    else {
      const s = new URLSearchParams();
      for (const [k, v] of Object.entries(p)) if (v !== undefined && v !== '') s.set(k, String(v));
      q = s.toString();
    }
  }
  return `#/${segs.join('/')}${q ? `?${q}` : ''}`;
}

export function navigate(to: string): void {
  if (location.hash !== to) location.hash = to;
}
