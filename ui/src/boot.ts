/**
 * The first script of the page (async, a few hundred bytes, no imports): when this browser had a
 * session, it asks for the data of the page in the address at once, while the pages' code
 * (app.js) still loads and starts; the page takes that answer (api.ts `takeAhead`) instead of asking again.
 */
import { firstDataPath, HAD_SESSION, parseHash } from './data-paths.js';

declare global {
  interface Window {
    /** Answers asked for by boot.js, by path, with when they were asked. */
    prismAhead?: Record<string, { answer: Promise<Response>; at: number }>;
  }
}

try {
  const path = /^#token=/.test(location.hash) || localStorage.getItem(HAD_SESSION) !== '1' ? null : firstDataPath(parseHash(location.hash));
  if (path) {
    const answer = fetch(path, { headers: { accept: 'application/json' }, credentials: 'same-origin' });
    answer.catch(() => undefined); // the page asks again
    window.prismAhead = { [path]: { answer, at: performance.now() } };
  }
} catch {
  // storage off: the page asks for its data itself
}
