import { isPrismError } from '../errors/index.js';
import type { IndexedBlob, Manifest, PackDamage, Repository } from '../repo/index.js';
import { FrameDecoder, checkPack, rootTrees } from '../repo/index.js';
import { FRAME_FAILURE, checkPackData, type PackDataResult } from './check-pack-data.js';
import { CheckWorkers, checkPacksInParallel, type PackJob } from './check-pool.js';
import { walkTree, type TreeEntry } from './tree-walk.js';

/** Where the database dumps appear in damage reports. */
export const DB_TREE_PREFIX = '@databases';

/** The file tree's entries, then the database tree's (paths under @databases/). */
async function* backupEntries(repo: Repository, m: Manifest): AsyncGenerator<TreeEntry> {
  for (const t of rootTrees(m)) yield* walkTree(repo, t, t === m.tree ? '' : DB_TREE_PREFIX);
}

export type DataSubset =
  | { kind: 'all' }
  | { kind: 'none' }
  | { kind: 'percent'; percent: number }
  | { kind: 'part'; n: number; of: number }
  /** The packs `pick` chooses from every pack holding file data of the backups (background verification). */
  | { kind: 'pick'; pick: (packs: readonly string[]) => readonly string[] };

export interface CheckStep {
  name: string;
  ok: boolean;
  detail: string;
}

export interface BackupCheck {
  id: string;
  ok: boolean;
  steps: CheckStep[];
  /** Files whose data is missing or damaged (paths in the backup). */
  damaged: string[];
}

/** Stored data named outside the backups' trees (the PostgreSQL archive's records): checked chunk by chunk with them. */
export interface StoredObject {
  /** How reports name it, e.g. `pg/wal/000000010000000000000003.json`. */
  name: string;
  /** Chunk ids in order. */
  content: readonly string[];
  /** Its length, when known: compared with the sum of its chunks' lengths. */
  size?: number;
}

export interface ObjectCheck {
  name: string;
  ok: boolean;
  /** Why it failed (the first damaged chunk's reason). */
  reason?: string;
}

export interface CheckOptions {
  repo: Repository;
  manifests: readonly Manifest[];
  /** Also checked, with the same data subset; reported in `objects`. */
  objects?: readonly StoredObject[];
  data: DataSubset;
  /** Random source for the percent subset (injected for tests). */
  random?: () => number;
  /** Stops the check between backups and between packs. */
  signal?: AbortSignal;
  /** Directory of the (local) repository, for check workers; without it one thread reads the packs. */
  repoRoot?: string;
  /** Threads reading packs (the calling one included). */
  concurrency?: number;
  /** Below this many bytes of packs to read, the calling thread reads them alone (default 32 MiB). */
  parallelBytes?: number;
}

/** Below this many bytes of packs to read, starting worker threads costs more than it saves. */
const PARALLEL_BYTES = 32 * 1024 * 1024;
const MAX_THREADS = 8;

interface ChunkVerdict {
  ok: boolean;
  reason?: string;
}

/** A file of a backup with chunks that are missing or damaged. */
export interface DamagedFile {
  backup: string;
  /** Path in the backup (relative to the data directory it was taken from). */
  path: string;
  /** Its chunks that failed, in file order. */
  chunks: string[];
}

export interface RepositoryCheck {
  backups: BackupCheck[];
  /** Every pack holding file data of the checked backups. */
  dataPacks: string[];
  /** The packs whose data was read (every frame decompressed, every chunk re-hashed). */
  packsRead: string[];
  /** Chunk id → why it failed. */
  damagedChunks: Map<string, string>;
  damagedFiles: DamagedFile[];
  /** Packs the index names that are not in the repository. */
  missingPacks: string[];
  /** Packs read whose bytes are not what they were written as (magic, trailer, end, or a frame no checked chunk lies in). */
  damagedPacks: PackDamage[];
  /** One per `objects` entry, in order. */
  objects: ObjectCheck[];
}

/**
 * Checks backups: manifest → trees (each read and re-hashed) → every chunk indexed → its pack
 * present and long enough → (data) every frame read, decompressed and every chunk re-hashed.
 * Chunks shared by several backups are checked once; each pack is read once.
 */
export async function checkBackups(opts: CheckOptions): Promise<BackupCheck[]> {
  return (await checkRepository(opts)).backups;
}

/** checkBackups, plus which packs were read and which chunks and files failed (for repair). */
export async function checkRepository(opts: CheckOptions): Promise<RepositoryCheck> {
  const packSizes = await opts.repo.listPackSizes();
  // reading all data: the worker threads start now, their start-up overlapping the tree walk
  let total = 0;
  if (opts.data.kind === 'all') for (const size of packSizes.values()) total += size;
  const threads = threadsFor(opts, total);
  const workers = threads > 1 ? new CheckWorkers(threads - 1, { repoRoot: opts.repoRoot!, unlocked: opts.repo.unlocked, config: opts.repo.config }) : undefined;
  try {
    return await checkWith(opts, packSizes, workers);
  } finally {
    await workers?.close();
  }
}

async function checkWith(opts: CheckOptions, packSizes: Map<string, number>, workers: CheckWorkers | undefined): Promise<RepositoryCheck> {
  const { repo } = opts;
  await repo.loadIndex();

  const verdicts = new Map<string, ChunkVerdict>();
  const byPack = new Map<string, IndexedBlob[]>();
  const results: BackupCheck[] = [];
  const treeProblems = new Map<string, string[]>();
  /** Packs holding the checked backups' trees: read whole with the data, so damage there is found too. */
  const treePacks = new Map<string, IndexedBlob[]>();
  const registerTree = (id: string): void => {
    const loc = repo.index.get(id);
    if (loc && packSizes.has(loc.pack)) listIn(treePacks, loc.pack).push(loc);
  };

  const register = (id: string): void => {
    if (verdicts.has(id)) return;
    const loc = repo.index.get(id);
    if (!loc)
      verdicts.set(id, {
        ok: false,
        reason: repo.hasDamagedCopy(id) ? `chunk ${id.slice(0, 12)} was found damaged and dropped from the index` : 'not in the index',
      });
    else if (!packSizes.has(loc.pack)) verdicts.set(id, { ok: false, reason: `pack ${loc.pack.slice(0, 12)} is missing` });
    else if (loc.frameOffset + loc.frameLength > packSizes.get(loc.pack)!)
      verdicts.set(id, { ok: false, reason: `pack ${loc.pack.slice(0, 12)} is truncated` });
    else {
      verdicts.set(id, { ok: true });
      listIn(byPack, loc.pack).push(loc);
    }
  };

  // Reading all data with worker threads: they start on every pack the index names while this thread
  // walks the trees (the verdicts below use only what the walk finds referenced); this thread joins them after.
  let walked = (): void => {};
  const walkDone = new Promise<void>((resolve) => (walked = resolve));
  const early = workers && opts.data.kind === 'all' ? readEveryPack(opts, packSizes, workers, walkDone) : undefined;

  // Pass 1: structure (trees, index, packs); gather the chunks to read.
  try {
    await walkTrees();
  } finally {
    walked();
  }
  async function walkTrees(): Promise<void> {
    for (const m of opts.manifests) {
      opts.signal?.throwIfAborted();
      const problems: string[] = [];
      treeProblems.set(m.id, problems);
      if (!m.tree) continue;
      try {
        for (const t of rootTrees(m)) registerTree(t);
        for await (const { node } of backupEntries(repo, m)) {
          for (const id of node.content ?? []) register(id);
          if (node.subtree) registerTree(node.subtree);
        }
      } catch (e) {
        problems.push(isPrismError(e) ? e.message : String(e));
      }
    }
  }
  for (const o of opts.objects ?? []) for (const id of o.content) register(id);

  // Pass 2: data, a pack at a time on each thread.
  let chunksRead = 0;
  const data = opts.data;
  const random = opts.random ?? Math.random;
  const chosen = data.kind === 'pick' ? pickPacks(data.pick, [...byPack.keys()].sort()) : [...byPack.keys()].filter((p) => selected(p, data, random));
  const treeOnlyPacks = [...treePacks.keys()].filter((p) => !byPack.has(p)).sort();
  // the background check's pick rotates over the data packs only
  const treesOnly = data.kind === 'pick' ? [] : treeOnlyPacks.filter((p) => selected(p, data, random));
  const damagedPacks: PackDamage[] = [];
  const foundBad = (id: string): boolean => verdicts.get(id)?.ok === false;
  // a percentage always reads something, however small the repository
  if (chosen.length === 0 && data.kind === 'percent' && byPack.size > 0) chosen.push([...byPack.keys()][Math.floor(random() * byPack.size)]!);
  const jobs: PackJob[] = [
    ...treesOnly.map((pack) => ({ pack, blobs: [], size: packSizes.get(pack)! })),
    ...chosen.map((pack) => ({ pack, blobs: byPack.get(pack)!, size: packSizes.get(pack)! })),
  ];
  const read = early ? await early.resultsFor(jobs) : await readPacks(opts, jobs, packSizes, workers);
  // the verdicts in pack order, whichever thread read each pack
  for (const [i, { pack, blobs }] of jobs.entries()) {
    const r = read[i]!;
    if (r.unreadable !== undefined) {
      damagedPacks.push({ pack, part: 'size', message: `pack ${pack.slice(0, 12)} cannot be read: ${r.unreadable}` });
      for (const b of blobs) verdicts.set(b.id, { ok: false, reason: damagedPacks.at(-1)!.message });
      continue;
    }
    chunksRead += r.chunksRead;
    // (every chunk of the pack was checked when read early: what the trees do not reference is not judged here)
    for (const [id, reason] of r.failed) if (verdicts.get(id)?.ok === true) verdicts.set(id, { ok: false, reason });
    if (!r.sound)
      judgeWhole(repo, pack, r.bytes!, i < treesOnly.length ? treePacks.get(pack)! : [...blobs, ...(treePacks.get(pack) ?? [])], damagedPacks, foundBad);
  }
  const packsRead = chosen.length;

  // Pass 3: per backup, name the files with bad chunks.
  const bad = [...verdicts.values()].some((v) => !v.ok);
  const damagedFiles: DamagedFile[] = [];
  for (const m of opts.manifests) {
    const problems = treeProblems.get(m.id)!;
    const damaged: string[] = [];
    const reasons = new Set<string>();
    if (m.tree && bad) {
      try {
        for await (const { path, node } of backupEntries(repo, m)) {
          const chunks = (node.content ?? []).filter((id) => verdicts.get(id)?.ok === false);
          if (chunks.length > 0) {
            damaged.push(path);
            damagedFiles.push({ backup: m.id, path, chunks });
            reasons.add(verdicts.get(chunks[0]!)!.reason!);
          }
        }
      } catch {
        /* already reported in pass 1 */
      }
    }
    const steps: CheckStep[] = [
      { name: 'manifest', ok: m.tree !== null, detail: m.tree ? `status ${m.status}, root tree ${m.tree.slice(0, 12)}` : 'no tree (failed attempt)' },
      { name: 'trees', ok: problems.length === 0, detail: problems.length === 0 ? 'every tree read and its id matched' : problems.join('; ') },
      {
        name: 'chunks',
        ok: damaged.length === 0 && problems.length === 0,
        detail:
          problems.length > 0
            ? 'not all checked: part of the tree could not be read'
            : damaged.length === 0
              ? 'every chunk indexed, its pack present'
              : `${damaged.length} file(s) damaged: ${[...reasons].slice(0, 3).join('; ')}`,
      },
      {
        name: 'data',
        ok: damaged.length === 0 && problems.length === 0,
        detail:
          opts.data.kind === 'none'
            ? 'not read (structure only)'
            : `${packsRead} pack(s) read, ${chunksRead} chunk(s) ${repo.crypt.encrypted ? 'decrypted, ' : ''}decompressed and re-hashed${opts.data.kind === 'all' ? '' : ' (subset)'}`,
      },
    ];
    if (m.databases && m.databases.length > 0) {
      const dbDamaged = damaged.filter((p) => p.startsWith(`${DB_TREE_PREFIX}/`)).length;
      const tables = m.databases.reduce((n, d) => n + d.tables.length, 0);
      steps.push({
        name: 'databases',
        ok: dbDamaged === 0 && problems.length === 0,
        detail: dbDamaged === 0 ? `${m.databases.length} database(s), ${tables} table(s) checked with the files` : `${dbDamaged} database object(s) damaged`,
      });
    }
    results.push({ id: m.id, ok: steps.every((s) => s.ok), steps, damaged });
  }
  const objects = (opts.objects ?? []).map((o): ObjectCheck => {
    const failed = o.content.find((id) => verdicts.get(id)?.ok === false);
    if (failed) return { name: o.name, ok: false, reason: verdicts.get(failed)!.reason! };
    const length = o.content.reduce((n, id) => n + (repo.index.get(id)?.blobLength ?? 0), 0);
    if (o.size !== undefined && length !== o.size) return { name: o.name, ok: false, reason: `its chunks hold ${length} bytes, the record says ${o.size}` };
    return { name: o.name, ok: true };
  });
  const damagedChunks = new Map<string, string>();
  for (const [id, v] of verdicts) if (!v.ok) damagedChunks.set(id, v.reason!);
  const missingPacks = repo.index.packNames().filter((p) => !packSizes.has(p));
  return { backups: results, dataPacks: [...byPack.keys()].sort(), packsRead: chosen, damagedChunks, damagedFiles, missingPacks, damagedPacks, objects };
}

/** Reads the packs of `jobs`: on this thread alone, or with `workers` (or threads started here when there is much to read). */
async function readPacks(opts: CheckOptions, jobs: PackJob[], packSizes: Map<string, number>, workers: CheckWorkers | undefined): Promise<PackDataResult[]> {
  const { repo } = opts;
  const reading = { into: { buffer: Buffer.alloc(0) }, decoder: new FrameDecoder(repo.crypt) };
  const bytes = jobs.reduce((n, j) => n + (packSizes.get(j.pack) ?? 0), 0);
  return checkPacksInParallel(
    jobs,
    workers ?? threadsFor(opts, bytes) - 1,
    { repoRoot: opts.repoRoot ?? '', unlocked: repo.unlocked, config: repo.config },
    (job) => checkPackData(repo, reading, job.pack, job.blobs, job.size),
    { signal: opts.signal },
  );
}

/**
 * Reads every listed pack the index names, every chunk of it checked, on the workers at once and
 * on this thread once `walkDone`. `resultsFor` gives what a read of `jobs` (packs and the chunks
 * the trees reference in them) would have found: the same verdicts, chunks counted the same way.
 */
function readEveryPack(
  opts: CheckOptions,
  packSizes: Map<string, number>,
  workers: CheckWorkers,
  walkDone: Promise<void>,
): { resultsFor: (jobs: PackJob[]) => Promise<PackDataResult[]> } {
  const { repo } = opts;
  const entries = new Map<string, IndexedBlob[]>();
  for (const b of repo.index.entries()) if (packSizes.has(b.pack)) listIn(entries, b.pack).push(b);
  const all: PackJob[] = [...entries].map(([pack, blobs]) => ({ pack, blobs, size: packSizes.get(pack)! }));
  const reading = { into: { buffer: Buffer.alloc(0) }, decoder: new FrameDecoder(repo.crypt) };
  const read = checkPacksInParallel(
    all,
    workers,
    { repoRoot: opts.repoRoot ?? '', unlocked: repo.unlocked, config: repo.config },
    async (job) => {
      await walkDone;
      return checkPackData(repo, reading, job.pack, job.blobs, job.size);
    },
    { signal: opts.signal },
  );
  read.catch(() => {}); // awaited by resultsFor; a walk that fails first leaves it to the workers' close
  return {
    resultsFor: async (jobs) => {
      const results = await read;
      const byPack = new Map(all.map((j, i) => [j.pack, results[i]!]));
      return jobs.map(({ pack, blobs }) => {
        const r = byPack.get(pack)!;
        if (r.unreadable !== undefined) return r;
        // chunks counted as a read of `blobs` alone counts them: those whose frame opened
        const frameFailed = new Set(r.failed.filter(([, reason]) => reason.startsWith(FRAME_FAILURE)).map(([id]) => id));
        return { ...r, chunksRead: blobs.filter((b) => !frameFailed.has(b.id)).length };
      });
    },
  };
}

/** Threads to read `bytes` of packs with (the calling one included): one below the parallel threshold or without a local repository. */
function threadsFor(opts: CheckOptions, bytes: number): number {
  return opts.repoRoot && bytes >= (opts.parallelBytes ?? PARALLEL_BYTES) ? Math.max(1, Math.min(opts.concurrency ?? 1, MAX_THREADS)) : 1;
}

/** The packs a `pick` subset names, restricted to those that hold data of the backups. */
function pickPacks(pick: (packs: readonly string[]) => readonly string[], packs: string[]): string[] {
  const known = new Set(packs);
  return [...new Set(pick(packs))].filter((p) => known.has(p));
}

function selected(pack: string, subset: Exclude<DataSubset, { kind: 'pick' }>, random: () => number): boolean {
  switch (subset.kind) {
    case 'all':
      return true;
    case 'none':
      return false;
    case 'percent':
      return random() * 100 < subset.percent;
    case 'part':
      return Number.parseInt(pack.slice(0, 8), 16) % subset.of === subset.n - 1;
  }
}

/** Reads each pack whole and checks it against the index (every entry of it) and its own id; copies recorded as damaged are known damage. */
export async function checkPacksWhole(repo: Repository, packs: readonly string[]): Promise<PackDamage[]> {
  const index = await repo.loadIndex();
  const wanted = new Set(packs);
  const entries = new Map<string, IndexedBlob[]>();
  for (const b of index.entries()) if (wanted.has(b.pack)) listIn(entries, b.pack).push(b);
  const out: PackDamage[] = [];
  for (const pack of packs) {
    const buf = await readWhole(repo, pack, out);
    if (buf) judgeWhole(repo, pack, buf, entries.get(pack) ?? [], out);
  }
  return out;
}

/** Reads a pack whole; one that cannot be read is added to `damaged` (as damage of its size). */
async function readWhole(repo: Repository, pack: string, damaged: PackDamage[]): Promise<Buffer | undefined> {
  try {
    return await repo.readPack(pack);
  } catch (e) {
    damaged.push({ pack, part: 'size', message: `pack ${pack.slice(0, 12)} cannot be read: ${(e as Error).message}` });
    return undefined;
  }
}

/**
 * Checks a pack read whole (see checkPack) and adds its damage to `damaged`. Damage confined to
 * copies already found bad (`foundBad`, or recorded as damaged) is not reported again.
 */
function judgeWhole(
  repo: Repository,
  pack: string,
  buf: Buffer,
  indexed: readonly IndexedBlob[],
  damaged: PackDamage[],
  foundBad: (id: string) => boolean = () => false,
): void {
  const damage = checkPack(pack, buf, repo.crypt, indexed, (id, frameOffset) => {
    const loc = repo.index.get(id);
    return loc !== undefined && loc.pack === pack && loc.frameOffset === frameOffset && !foundBad(id) && !repo.isDamagedCopy(id, pack);
  });
  if (damage) damaged.push(damage);
}

/** The list `map` holds at `key`, added empty when there is none. */
function listIn<K, V>(map: Map<K, V[]>, key: K): V[] {
  let list = map.get(key);
  if (!list) map.set(key, (list = []));
  return list;
}
