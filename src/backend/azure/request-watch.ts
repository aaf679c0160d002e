/**
 * What the Azure backend adds below the SDK, as one pipeline policy that sees every HTTP request:
 * - a stall watchdog per backend call: a request that makes no progress (no request sent, no
 *   body chunk taken by the socket, no response chunk received) for PRISM_STORE_STALL_SECONDS is
 *   aborted, and the call fails as transient. The SDK's `tryTimeoutInMs` cannot do it: in
 *   storage-blob 12.x it only sets the server-side `timeout=` query parameter;
 * - request counts per backend operation (`requestCounts()`), to see what a put, get or list costs;
 * - the backend's own keep-alive agents, so that close() lets go of its sockets.
 */
import http from 'node:http';
import https from 'node:https';

export type AzureOperation = 'put' | 'putIfAbsent' | 'get' | 'getRange' | 'exists' | 'size' | 'list' | 'delete';

/** The reason a call's signal is aborted with when it stalled. */
export class StallError extends Error {
  constructor(readonly seconds: number) {
    super(`no progress for ${seconds} s (PRISM_STORE_STALL_SECONDS)`);
    this.name = 'StallError';
  }
}

/** One backend call: its own signal (aborted by the caller's or by the watchdog) and its watchdog. */
export class Call {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private ended = false;
  stalled = false;

  constructor(
    readonly op: AzureOperation,
    private readonly stallMs: number,
    private readonly outer: AbortSignal | undefined,
  ) {
    outer?.addEventListener('abort', this.onOuterAbort, { once: true });
    this.timer = setTimeout(this.onStall, stallMs);
    this.timer.unref();
  }

  /** The signal to give the SDK. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Something moved: the watchdog starts over. */
  readonly progress = (): void => {
    if (!this.ended && !this.stalled) this.timer.refresh();
  };

  end(): void {
    this.ended = true;
    clearTimeout(this.timer);
    this.outer?.removeEventListener('abort', this.onOuterAbort);
  }

  private readonly onStall = (): void => {
    this.stalled = true;
    this.controller.abort(new StallError(this.stallMs / 1000));
  };

  private readonly onOuterAbort = (): void => {
    this.controller.abort(this.outer!.reason);
  };
}

/** The shape of core-rest-pipeline's PipelinePolicy that this policy uses (the package is the SDK's, not ours). */
interface WatchedRequest {
  url: string;
  abortSignal?: AbortSignal;
  agent?: unknown;
}
export interface RequestPolicy {
  name: string;
  sendRequest(request: WatchedRequest, next: (request: WatchedRequest) => Promise<unknown>): Promise<unknown>;
}

/**
 * Idle keep-alive sockets are closed after 4 s: below the 5 s after which Node-based servers
 * (Azurite) close them, so a request never goes out on a socket the server is closing.
 */
const IDLE_SOCKET_MS = 4_000;

export class RequestWatch {
  private readonly calls = new WeakMap<AbortSignal, Call>();
  private readonly counts = new Map<string, number>();
  private readonly httpAgent = new http.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS });

  constructor(private readonly stallMs: number) {}

  /** Starts a call; end() it when the call is over. */
  start(op: AzureOperation, outer: AbortSignal | undefined): Call {
    const call = new Call(op, this.stallMs, outer);
    this.calls.set(call.signal, call);
    return call;
  }

  /** Runs last in the SDK's pipeline (after signing), once per HTTP request sent. */
  readonly policy: RequestPolicy = {
    name: 'prismRequestWatch',
    sendRequest: (request, next) => {
      const call = request.abortSignal ? this.calls.get(request.abortSignal) : undefined;
      const op = call?.op ?? 'other';
      this.counts.set(op, (this.counts.get(op) ?? 0) + 1);
      call?.progress();
      // a proxy agent (HTTPS_PROXY, set by the SDK's proxy policy) is left as it is
      request.agent ??= request.url.startsWith('https:') ? this.httpsAgent : this.httpAgent;
      return next(request);
    },
  };

  /** HTTP requests sent so far, per backend operation (retries by a wrapper count again). */
  requestCounts(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  /** Closes the sockets (idle and busy ones). */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
