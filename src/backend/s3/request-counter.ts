/**
 * Requests to S3 cost money (PUT and LIST by the thousand, GET by the ten thousand), so prism
 * counts them: an SDK middleware that adds one per HTTP request sent, by operation name
 * (PutObject, GetObject, ListObjectsV2 …), for benchmarks to report requests per backup.
 */
export class RequestCounter {
  private readonly counts = new Map<string, number>();

  add(operation: string): void {
    this.counts.set(operation, (this.counts.get(operation) ?? 0) + 1);
  }

  /** Requests sent so far by operation, sorted by name. */
  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }
}

interface MiddlewareContext {
  commandName?: string;
}

/**
 * The middleware, for `client.middlewareStack.add(…, COUNT_REQUESTS)`. It sits in the deserialize
 * step, below signing and retries: it runs once per request that goes out, and never for one that
 * stopped before (no credentials, an aborted signal).
 */
export function countRequests(counter: RequestCounter) {
  return <T>(next: (args: T) => Promise<unknown>, context: MiddlewareContext) =>
    (args: T) => {
      counter.add((context.commandName ?? 'unknown').replace(/Command$/, ''));
      return next(args);
    };
}

export const COUNT_REQUESTS = { step: 'deserialize', name: 'prismCountRequests', priority: 'low' } as const;
