import { PrismError } from '../../errors/index.js';

/**
 * Names of the files PostgreSQL hands to archive_command / asks of restore_command: WAL
 * segments (24 hex digits), timeline history files, backup history files and partial segments.
 */
const SEGMENT = /^[0-9A-F]{24}$/;
const ARCHIVABLE = /^(?:[0-9A-F]{24}(?:\.partial|\.[0-9A-F]{8}\.backup)?|[0-9A-F]{8}\.history)$/;

export function isSegmentName(name: string): boolean {
  return SEGMENT.test(name);
}

export function isArchivable(name: string): boolean {
  return ARCHIVABLE.test(name);
}

export function checkWalName(name: string): void {
  if (!ARCHIVABLE.test(name)) {
    throw new PrismError(
      'PG_ARCHIVE_FAILED',
      `${name} is not the name of a WAL segment, history, backup or partial file; archive_command must pass %p (restore_command %f %p).`,
      { name },
    );
  }
}

/** A complete segment is a power of two between 1 MiB and 1 GiB (wal_segment_size). */
export function isSegmentSize(size: number): boolean {
  return size >= 1 << 20 && size <= 1 << 30 && (size & (size - 1)) === 0;
}

/** "0/2000028" → bigint. */
export function parseLsn(lsn: string): bigint {
  const m = /^([0-9A-F]{1,8})\/([0-9A-F]{1,8})$/i.exec(lsn.trim());
  if (!m) throw new PrismError('PG_ARCHIVE_FAILED', `"${lsn}" is not a WAL location (LSN).`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

/** The segment file holding `lsn` on `timeline`, for segments of `segmentSize` bytes. */
export function segmentOf(timeline: number, lsn: bigint, segmentSize: number): string {
  const size = BigInt(segmentSize);
  const segno = lsn / size;
  const perId = 0x100000000n / size;
  const hex = (n: bigint | number) => n.toString(16).toUpperCase().padStart(8, '0');
  return `${hex(timeline)}${hex(segno / perId)}${hex(segno % perId)}`;
}
