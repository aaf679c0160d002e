import type pg from 'pg';
import { CopyFraming } from './copy-framing.js';
import { ReadPoolSocket } from './pg-socket.js';

/** What pg hands a submittable: the socket its protocol parser listens on, and the query sender. */
interface PgConnection {
  stream: NodeJS.ReadableStream & { listeners(event: 'data'): Array<(b: Buffer) => void> };
  query(text: string): void;
}

/**
 * On a ReadPoolSocket, a read of the COPY shorter than this is followed by a pause of GATHER_MS
 * before the next, so that the next read takes what the kernel gathered meanwhile: the server
 * sends in 8 KiB pieces, and a reader that keeps up wakes for each few of them. 500 MB of COPY
 * came in 25,000 reads of ~20 KiB; with the pause, in 2,500 of ~200 KiB, for ~0.3 s less CPU
 * (5M rows; on 2 cores the server's process shares them). A read this long or longer goes on at
 * once, so a fast stream is not held up; a slow one (a remote server) waits 1 ms per read, while
 * its bytes queue in the socket. Only past the COPY's first GATHER_AFTER bytes: a small table is
 * read as it comes (200 tables of 500 rows took 20 ms longer otherwise).
 */
const GATHER_BELOW = 128 * 1024;
const GATHER_MS = 1;
const GATHER_AFTER = 1024 * 1024;

/**
 * `COPY … TO STDOUT` on a pg client, read straight off the socket: while the COPY runs this takes
 * the socket from pg's parser and strips the protocol framing in place (a CopyData message per
 * row), so the rows reach `onData` in the socket's own chunks, with no buffer per row. This is
 * 5–6× less CPU than pg-copy-streams' parser, which matters for large tables. On a
 * ReadPoolSocket the chunks are its reused read buffers, each taken back once `onData` is done
 * with it. The row count is the server's (`COPY n`). `onData` is awaited before the socket is
 * read further.
 */
export function pgCopyTo(client: pg.Client, sql: string, onData: (b: Buffer) => Promise<void>): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const q = new CopyToQuery(sql, onData, resolve, reject);
    (client as unknown as { query(s: CopyToQuery): void }).query(q);
  });
}

class CopyToQuery {
  private connection: PgConnection | undefined;
  private pgHandler: ((b: Buffer) => void) | undefined;
  /** Whether pg has the socket back. */
  private returned = false;
  private readonly framing = new CopyFraming();
  private rows = 0;
  private pending: Promise<void> = Promise.resolve();
  /** Chunks handed to the sink and not yet taken by it; whether the socket is paused for them. */
  private inSink = 0;
  private paused = false;
  /** Paused to gather (see GATHER_BELOW), on a ReadPoolSocket. */
  private gathering = false;
  /** The socket is a ReadPoolSocket (reads taken with takeReads), not pg's (its `data` listener swapped). */
  private pooled = false;
  /** Bytes of the COPY read so far. */
  private read = 0;
  private failure: unknown;
  private settled = false;
  private readonly onChunk = (chunk: Buffer): void => this.parse(chunk, noop);

  constructor(
    private readonly text: string,
    private readonly onData: (b: Buffer) => Promise<void>,
    private readonly resolve: (rows: number) => void,
    private readonly reject: (e: unknown) => void,
  ) {}

  /** Called by pg when the query's turn comes: take the socket, then send the COPY. */
  submit(connection: PgConnection): void {
    this.connection = connection;
    this.pooled = connection.stream instanceof ReadPoolSocket;
    if (connection.stream instanceof ReadPoolSocket) {
      connection.stream.takeReads((chunk, release) => this.parse(chunk, release));
      connection.query(this.text);
      return;
    }
    const listeners = connection.stream.listeners('data');
    if (listeners.length !== 1) throw new Error(`pg connection has ${listeners.length} socket readers, expected 1`);
    this.pgHandler = listeners[0]!;
    connection.stream.removeListener('data', this.pgHandler);
    connection.stream.on('data', this.onChunk);
    connection.query(this.text);
  }

  handleCommandComplete(msg: { text?: string }): void {
    const m = /^COPY (\d+)/.exec(msg.text ?? '');
    if (m) this.rows = Number(m[1]);
  }

  /** An ErrorResponse (handed back to pg) or a dropped connection. */
  handleError(err: unknown): void {
    this.failure ??= err;
    this.settle();
  }

  handleReadyForQuery(): void {
    this.settle();
  }

  /** Once the last rows are through the sink: the row count, or the first failure. */
  private settle(): void {
    if (this.settled) return;
    this.settled = true;
    this.pending.then(
      () => (this.failure === undefined ? this.resolve(this.rows) : this.reject(this.failure)),
      (e: unknown) => this.reject(e),
    );
  }

  /** Hands on the row bytes of `chunk`, and returns the socket to pg at the first message that ends copy mode (CopyDone, ErrorResponse). */
  private parse(chunk: Buffer, release: () => void): void {
    if (this.failure !== undefined) {
      release(); // a failed sink: drop the rest until the connection closes
      return;
    }
    this.read += chunk.length;
    const { rows, end } = this.framing.strip(chunk);
    // the rows first: pg, given the rest, settles the query (which waits for the rows in the sink)
    this.deliver(chunk.subarray(0, rows), release);
    if (end >= 0) this.giveBack(chunk.subarray(end));
    else if (this.pooled && this.read >= GATHER_AFTER && chunk.length < GATHER_BELOW) this.gather();
  }

  /**
   * Row bytes go on. The sink mostly takes a chunk before the socket has the next one, so the
   * socket is paused only when a chunk comes while the last is still in the sink (a full window):
   * pausing and resuming it for every chunk cost more CPU than the rows' framing.
   */
  private deliver(data: Buffer, release: () => void): void {
    if (data.length === 0) {
      release();
      return;
    }
    const stream = this.connection!.stream;
    if (++this.inSink > 1 && !this.paused) {
      this.paused = true;
      stream.pause();
    }
    this.pending = this.pending.then(() => this.onData(data));
    this.pending.then(
      () => {
        release();
        if (--this.inSink > 0 || !this.paused) return;
        this.paused = false;
        if (!this.returned && !this.gathering) stream.resume(); // (once pg has the socket back, pg reads it)
      },
      (e: unknown) => {
        release();
        // a failed sink: fail now, and drain and drop the rest so that closing the client does not hang
        this.failure ??= e;
        stream.resume();
        this.settle();
      },
    );
  }

  /** A short read: the socket rests GATHER_MS (unless paused for the sink already, or given back). */
  private gather(): void {
    if (this.gathering || this.paused || this.returned) return;
    const stream = this.connection!.stream;
    this.gathering = true;
    stream.pause();
    setTimeout(() => {
      this.gathering = false;
      if (!this.paused && !this.returned) stream.resume();
    }, GATHER_MS);
  }

  /** Copy mode has ended at `rest`: the socket goes back to pg, `rest` first (a copy of it, on a ReadPoolSocket). */
  private giveBack(rest: Buffer): void {
    const c = this.connection;
    if (!c || this.returned) return;
    this.returned = true;
    if (c.stream instanceof ReadPoolSocket) {
      c.stream.giveBack(rest);
    } else {
      const handler = this.pgHandler!;
      c.stream.removeListener('data', this.onChunk);
      c.stream.on('data', handler);
      if (rest.length > 0) handler(rest);
    }
    c.stream.resume();
  }
}

function noop(): void {}
