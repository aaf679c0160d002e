/** Loads an API path into a component: data, error, loading, and a reload that follows live changes. */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiFailure, getJson } from './api.js';
import { useLive } from './live.js';

export interface Loaded<T> {
  data: T | null;
  error: ApiFailure | null;
  loading: boolean;
  reload: () => void;
}

/** `path` null: nothing to load yet. With `follow`, the data is reloaded when the list of backups changes. */
export function useApi<T>(path: string | null, follow = false): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<ApiFailure | null>(null);
  const [loading, setLoading] = useState(path !== null);
  const [nonce, setNonce] = useState(0);
  const { changes } = useLive();
  const generation = follow ? changes : 0;
  useEffect(() => {
    if (path === null) {
      setData(null);
      setLoading(false);
      return;
    }
    const ctl = new AbortController();
    setLoading(true);
    getJson<T>(path, ctl.signal).then(
      (d) => {
        setData(d);
        setError(null);
        setLoading(false);
      },
      (e: unknown) => {
        if ((e as Error).name === 'AbortError') return;
        setError(e instanceof ApiFailure ? e : new ApiFailure(0, 'CLIENT', String((e as Error).message ?? e)));
        setLoading(false);
      },
    );
    return () => ctl.abort();
  }, [path, nonce, generation]);
  const reload = useCallback(() => setNonce((n) => n + 1), []);
  return { data, error, loading, reload };
}
