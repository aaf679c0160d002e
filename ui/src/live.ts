/**
 * Live state from `GET /api/events` (server-sent events): the jobs running now with their
 * progress, and a counter that goes up whenever the list of backups changes, so pages reload.
 */
import { createContext } from 'preact';
import { useContext, useEffect, useState } from 'preact/hooks';
import type { Progress } from './types.js';

export interface LiveState {
  running: Progress[];
  /** Goes up by one on each `changed` event. */
  changes: number;
  connected: boolean;
}

export const LiveContext = createContext<LiveState>({ running: [], changes: 0, connected: false });

export const useLive = (): LiveState => useContext(LiveContext);

export function useEventStream(enabled: boolean): LiveState {
  const [state, setState] = useState<LiveState>({ running: [], changes: 0, connected: false });
  useEffect(() => {
    if (!enabled) return;
    const es = new EventSource('/api/events');
    es.addEventListener('open', () => setState((s) => ({ ...s, connected: true })));
    es.addEventListener('error', () => setState((s) => ({ ...s, connected: false })));
    es.addEventListener('progress', (ev) => {
      try {
        const body = JSON.parse((ev as MessageEvent<string>).data) as { running?: Progress[] };
        const running = Array.isArray(body.running) ? body.running : [];
        setState((s) => ({ ...s, running, connected: true }));
      } catch {
        // a malformed event is ignored; the next one replaces it
      }
    });
    es.addEventListener('changed', () => setState((s) => ({ ...s, changes: s.changes + 1 })));
    return () => es.close();
  }, [enabled]);
  return state;
}
