import { PrismError, isPrismError } from '../errors/index.js';

/** Everything the CLI prints goes through here (stdout for results, stderr for the rest). */
export function out(line = ''): void {
  process.stdout.write(line + '\n');
}

export function err(line = ''): void {
  process.stderr.write(line + '\n');
}

export function printJson(value: unknown): void {
  out(JSON.stringify(value, null, 2));
}

/** A plain aligned table. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(headers), ...rows.map(line)].join('\n');
}

/** Prints an error with its code and fix; returns the exit code. */
export function reportError(e: unknown, json: boolean, verbose: boolean): number {
  const pe: PrismError = isPrismError(e) ? e : new PrismError('INTERNAL', `Unexpected error: ${(e as Error)?.message ?? String(e)}`, {}, { cause: e });
  if (json) {
    process.stdout.write(JSON.stringify({ error: pe.toJSON() }, null, 2) + '\n');
  } else {
    err(`Error [${pe.id}] ${pe.message}`);
    err(`  Fix: ${pe.fix}`);
    if (verbose && pe.code === 'INTERNAL' && (pe.cause as Error)?.stack) err((pe.cause as Error).stack);
  }
  return pe.exitCode;
}
