/** Loads an API path into a component: data, error, loading, and a reload that follows live changes. */
import { useCallback, useLayoutEffect, useState } from 'preact/hooks';
import { ApiFailure, getJson, takeAhead } from './api.js';
import { useLive } from './live.js';

export interface Loaded<T> {
  data: T | null;
  error: ApiFailure | null;
  loading: boolean;
  reload: () => void;
}

/** Requests started ahead of the component that shows them (see `prefetch`), by path, with when they left. */
const ahead = new Map<string, { answer: Promise<unknown>; at: number }>();
/** An answer fetched ahead is taken within this time, else asked again (its page was left before it showed). */
const AHEAD_MS = 10_000;

/**
 * Starts loading `path` now, before the component that shows it exists (a page whose code is still
 * loading): its first useApi(path) takes this answer instead of asking again. Once only.
 */
export function prefetch(path: string): void {
  const held = ahead.get(path);
  if ((held && performance.now() - held.at < AHEAD_MS) || window.prismAhead?.[path]) return; // asked already (here or by boot.js)
  const answer = getJson<unknown>(path);
  answer.catch(() => undefined); // told to the component that takes it
  ahead.set(path, { answer, at: performance.now() });
}

function take<T>(path: string): Promise<T> | undefined {
  const held = ahead.get(path);
  ahead.delete(path);
  return held && performance.now() - held.at < AHEAD_MS ? (held.answer as Promise<T>) : undefined;
}

/** `path` null: nothing to load yet. With `follow`, the data is reloaded when the list of backups changes. */
export function useApi<T>(path: string | null, follow = false): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<ApiFailure | null>(null);
  const [loading, setLoading] = useState(path !== null);
  const [nonce, setNonce] = useState(0);
  const { changes } = useLive();
  const generation = follow ? changes : 0;
  // a layout effect: the request leaves with the render that needs it, not a frame later (after the first paint)
  useLayoutEffect(() => {
    if (path === null) {
      setData(null);
      setLoading(false);
      return;
    }
    const ctl = new AbortController();
    setLoading(true);
    (take<T>(path) ?? takeAhead<T>(path) ?? getJson<T>(path, ctl.signal)).then(
      (d) => {
        if (ctl.signal.aborted) return;
        setData(d);
        setError(null);
        setLoading(false);
      },
      (e: unknown) => {
        if (ctl.signal.aborted || (e as Error).name === 'AbortError') return;
        setError(e instanceof ApiFailure ? e : new ApiFailure(0, 'CLIENT', String((e as Error).message ?? e)));
        setLoading(false);
      },
    );
    return () => ctl.abort();
  }, [path, nonce, generation]);
  const reload = useCallback(() => setNonce((n) => n + 1), []);
  return { data, error, loading, reload };
}
