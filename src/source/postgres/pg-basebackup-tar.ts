/**
 * Watches a tar stream as it passes (ustar headers, 512-byte blocks) and keeps the content of
 * a few small named members, e.g. `backup_label` and `backup_manifest` of a pg_basebackup
 * archive, without holding anything else.
 */
export class TarWatcher {
  private header = Buffer.alloc(512);
  private headerFill = 0;
  /** Bytes of the current member's data (plus padding) still to pass. */
  private skip = 0;
  private dataLeft = 0;
  private capture: Buffer[] | undefined;
  private current = '';
  private longName: string | undefined;
  private longNameParts: Buffer[] | undefined;
  readonly files = new Map<string, Buffer>();

  constructor(
    private readonly wanted: ReadonlySet<string>,
    private readonly maxBytes = 64 * 1024 * 1024,
  ) {}

  push(buf: Buffer): void {
    let pos = 0;
    while (pos < buf.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, buf.length - pos);
        const data = Math.min(n, this.dataLeft);
        if (data > 0) {
          this.capture?.push(buf.subarray(pos, pos + data));
          this.longNameParts?.push(buf.subarray(pos, pos + data));
          this.dataLeft -= data;
        }
        this.skip -= n;
        pos += n;
        if (this.skip === 0) this.endMember();
        continue;
      }
      const n = Math.min(512 - this.headerFill, buf.length - pos);
      buf.copy(this.header, this.headerFill, pos, pos + n);
      this.headerFill += n;
      pos += n;
      if (this.headerFill === 512) {
        this.headerFill = 0;
        this.startMember();
      }
    }
  }

  private startMember(): void {
    const h = this.header;
    if (h.every((b) => b === 0)) return; // end-of-archive blocks
    const str = (o: number, l: number) =>
      h
        .subarray(o, o + l)
        .toString('utf8')
        .replace(/\0.*$/s, '');
    const size = parseInt(str(124, 12).trim() || '0', 8);
    const type = String.fromCharCode(h[156]!);
    const prefix = h.subarray(257, 263).toString('latin1').startsWith('ustar') ? str(345, 155) : '';
    let name = this.longName ?? (prefix ? `${prefix}/${str(0, 100)}` : str(0, 100));
    this.longName = undefined;
    name = name.replace(/^\.\//, '');
    this.current = type === 'L' ? '' : name;
    this.dataLeft = size;
    this.skip = Math.ceil(size / 512) * 512;
    this.longNameParts = type === 'L' ? [] : undefined;
    this.capture = type !== 'L' && this.wanted.has(name) && size <= this.maxBytes ? [] : undefined;
    if (this.skip === 0) this.endMember();
  }

  private endMember(): void {
    if (this.longNameParts) this.longName = Buffer.concat(this.longNameParts).toString('utf8').replace(/\0.*$/s, '');
    if (this.capture) this.files.set(this.current, Buffer.concat(this.capture));
    this.capture = undefined;
    this.longNameParts = undefined;
  }
}
