/**
 * A TCP proxy on loopback in front of a real server, that damages the traffic the way networks
 * do: it resets a connection after some bytes, holds (stops forwarding) after some bytes, flips a
 * byte, or forwards slowly. Stores' tests put it between a backend and the real server, so that
 * what the server keeps afterwards (nothing, or the whole object) can be checked.
 */
import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** What to do with the bytes of one direction of a connection. */
export interface DirectionFaults {
  /** Reset both sides once this many bytes have passed in this direction. */
  resetAfter?: number;
  /** Stop forwarding (keep both connections open, silent) once this many bytes have passed. */
  holdAfter?: number;
  /** Invert the byte at this offset of the direction's stream (counted from the connection's start). */
  flipAt?: number;
  /** Forward at most this many bytes per second. */
  bytesPerSecond?: number;
}

export interface FaultProxy {
  port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

export async function startFaultProxy(target: { host: string; port: number }, faults: { up?: DirectionFaults; down?: DirectionFaults }): Promise<FaultProxy> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((client) => {
    connections++;
    const upstream = createConnection(target);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    const resetBoth = (): void => {
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    };
    pump(client, upstream, faults.up ?? {}, resetBoth);
    pump(upstream, client, faults.down ?? {}, resetBoth);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function pump(from: Socket, to: Socket, f: DirectionFaults, resetBoth: () => void): void {
  let passed = 0;
  let held = false;
  from.on('data', (chunk: Buffer) => {
    if (held) return;
    let out = chunk;
    const end = passed + chunk.length;
    if (f.flipAt !== undefined && f.flipAt >= passed && f.flipAt < end) {
      out = Buffer.from(chunk);
      out[f.flipAt - passed] ^= 0xff;
    }
    if (f.resetAfter !== undefined && end > f.resetAfter) {
      to.write(out.subarray(0, f.resetAfter - passed), () => resetBoth());
      held = true;
      return;
    }
    if (f.holdAfter !== undefined && end > f.holdAfter) {
      to.write(out.subarray(0, f.holdAfter - passed));
      held = true; // both stay open; nothing more passes this way
      return;
    }
    passed = end;
    const needsDrain = !to.write(out);
    const delayMs = f.bytesPerSecond ? (chunk.length / f.bytesPerSecond) * 1000 : 0;
    if (needsDrain || delayMs > 0) {
      from.pause();
      Promise.all([needsDrain ? once(to, 'drain') : undefined, delayMs > 0 ? sleep(delayMs) : undefined]).then(
        () => from.resume(),
        () => from.destroy(),
      );
    }
  });
  from.on('end', () => to.end());
}
