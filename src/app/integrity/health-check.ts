import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createRequire } from 'node:module';
import { loadConfig, type Env } from '../../config/index.js';
import { fsPath } from '../../core/byte-names.js';
import { PRISM_RUNTIME_NAMES } from '../../core/reserved-names.js';
import { isPrismError } from '../../errors/index.js';
import type { TreeNode } from '../../repo/index.js';
import { walkTree } from '../../snapshot/tree-walk.js';
import { MISSING_SOURCE, walkSources, type WalkNode } from '../../source/fs/fs-walker.js';
import { JOURNAL, recoverSwap } from '../../source/fs/swap-journal.js';
import { openRepository, type AppContext } from '../context.js';
import { latestCompleted } from '../backups/manifests.js';

export interface HealthIssue {
  path: string;
  check: 'readable' | 'parse' | 'config' | 'source' | 'restore';
  message: string;
}

export interface HealthReport {
  healthy: boolean;
  home: string;
  files: number;
  bytes: number;
  parsed: number;
  issues: HealthIssue[];
  recovered_restore: boolean;
  since_backup: { backup: string; added: string[]; modified: string[]; deleted: string[] } | null;
}

const READ_BUF = Buffer.allocUnsafe(1024 * 1024);

/**
 * Checks the live data directory: every file readable to its end, JSON and YAML files parse,
 * config/backup.json validates, and what changed since the latest completed backup.
 * Healthy means no unreadable file, no parse error and a valid config; changes are information.
 */
export async function checkDataHealth(ctx: AppContext, env: Env = process.env): Promise<HealthReport> {
  const { config } = ctx;
  const report: HealthReport = { healthy: true, home: config.home, files: 0, bytes: 0, parsed: 0, issues: [], recovered_restore: false, since_backup: null };
  if (existsSync(config.home)) {
    try {
      report.recovered_restore = recoverSwap(config.home, PRISM_RUNTIME_NAMES) === 'completed';
    } catch (e) {
      report.issues.push({ path: JOURNAL, check: 'restore', message: `interrupted restore: ${isPrismError(e) ? e.message : String(e)}` });
    }
  }
  let configBroken = false;
  try {
    loadConfig(env);
  } catch (e) {
    configBroken = true;
    report.issues.push({ path: config.configFile, check: 'config', message: isPrismError(e) ? e.message : String(e) });
  }
  let root: WalkNode | undefined;
  try {
    // a missing folder is one problem: the others are still checked
    const walk = walkSources({ home: config.home, include: config.backup.sources.include, exclude: config.backup.sources.exclude, skipMissing: true });
    root = walk.root;
    for (const p of walk.problems) {
      const missing = p.code === 'SKIPPED' && p.message === MISSING_SOURCE;
      report.issues.push({ path: relative(config.home, p.path) || '.', check: missing ? 'source' : 'readable', message: p.message });
    }
  } catch (e) {
    report.issues.push({ path: config.home, check: 'source', message: isPrismError(e) ? e.message : String(e) });
  }
  const live = new Map<string, WalkNode>();
  if (root) collect(root, '', live);
  for (const [rel, n] of live) {
    if (n.kind !== 'file') continue;
    report.files++;
    report.bytes += n.meta.size;
    const problem = readWhole(n.path) ?? parseCheck(n.path, rel);
    if (problem === 'parsed') report.parsed++;
    // a config file that does not parse is reported once, as the config problem it is
    else if (problem && !(configBroken && problem.check === 'parse' && join(config.home, rel) === config.configFile))
      report.issues.push({ path: rel, check: problem.check, message: problem.message });
  }
  report.since_backup = await changesSinceBackup(ctx, live);
  report.healthy = report.issues.length === 0;
  return report;
}

function collect(n: WalkNode, prefix: string, out: Map<string, WalkNode>): void {
  for (const c of n.children ?? []) {
    const rel = prefix ? `${prefix}/${c.name}` : c.name;
    out.set(rel, c);
    collect(c, rel, out);
  }
}

function readWhole(path: string): { check: 'readable'; message: string } | undefined {
  let fd: number;
  try {
    fd = openSync(fsPath(path), 'r');
  } catch (e) {
    return { check: 'readable', message: (e as Error).message };
  }
  try {
    while (readSync(fd, READ_BUF, 0, READ_BUF.length, null) > 0) {
      /* read to the end */
    }
    return undefined;
  } catch (e) {
    return { check: 'readable', message: (e as Error).message };
  } finally {
    closeSync(fd);
  }
}

/** The YAML library, loaded on first use (~60 ms that most commands do not need). */
let yamlLib: typeof import('yaml') | undefined;

/**
 * Why a YAML stream does not parse, or undefined when it does. A stream may hold several
 * documents (`---`); duplicate keys are allowed (last wins, as most YAML readers do); aliases must
 * resolve. The message names the document, line and column, without the parser's source excerpt.
 */
function yamlProblem(text: string): string | undefined {
  const docs = parseStream(text);
  const n = docs.length;
  for (let i = 0; i < n; i++) {
    const doc = docs[i]!;
    const where = n > 1 ? `document ${i + 1} of ${n}, ` : '';
    const e = doc.errors[0];
    if (e) {
      const pos = e.linePos?.[0];
      return `${where}${pos ? `line ${pos.line}, column ${pos.col}: ` : ''}${e.message.replace(/ at line \d+, column \d+:?[\s\S]*$/, '')}`;
    }
    try {
      doc.toJS({ mapAsMap: true }); // resolves aliases (an unknown one throws)
    } catch (err) {
      return `${where}${(err as Error).message.split('\n')[0]}`;
    }
  }
  return undefined;
}

/**
 * The documents of a YAML stream. A directive line (`%TAG …`) right after a document that has no
 * end marker (`...`) starts the next document, as YAML 1.1 readers (libyaml, PyYAML) read it;
 * YAML 1.2 wants the marker, so it is put in where such a line is refused.
 */
function parseStream(text: string) {
  yamlLib ??= createRequire(import.meta.url)('yaml') as typeof import('yaml');
  const opts = { uniqueKeys: false, logLevel: 'silent' } as const;
  let docs = yamlLib.parseAllDocuments(text, opts);
  for (let tries = (text.match(/^%/gm) ?? []).length; tries > 0; tries--) {
    const at = docs.flatMap((d) => d.errors).find((e) => text[e.pos[0]] === '%' && (e.pos[0] === 0 || text[e.pos[0] - 1] === '\n'))?.pos[0];
    if (at === undefined) break;
    text = `${text.slice(0, at)}...\n${text.slice(at)}`;
    docs = yamlLib.parseAllDocuments(text, opts);
  }
  return docs;
}

function parseCheck(path: string, rel: string): 'parsed' | { check: 'parse'; message: string } | undefined {
  const lower = rel.toLowerCase();
  const json = lower.endsWith('.json');
  const yaml = lower.endsWith('.yaml') || lower.endsWith('.yml');
  if (!json && !yaml) return undefined;
  let problem: string | undefined;
  try {
    const text = readFileSync(fsPath(path), 'utf8');
    if (json) JSON.parse(text);
    else problem = yamlProblem(text);
  } catch (e) {
    problem = (e as Error).message.split('\n')[0];
  }
  return problem === undefined ? 'parsed' : { check: 'parse', message: `${json ? 'JSON' : 'YAML'}: ${problem}` };
}

async function changesSinceBackup(ctx: AppContext, live: Map<string, WalkNode>): Promise<HealthReport['since_backup']> {
  let repo;
  try {
    repo = await openRepository(ctx);
  } catch {
    return null;
  }
  const last = latestCompleted(await repo.listManifests(), ctx.clock.now());
  if (!last?.tree) return null;
  await repo.loadIndex();
  const added: string[] = [];
  const modified: string[] = [];
  const deleted: string[] = [];
  const seen = new Set<string>();
  for await (const { path, node } of walkTree(repo, last.tree)) {
    seen.add(path);
    const n = live.get(path);
    if (!n) deleted.push(path);
    else if (node.type === 'file' && changed(node, n)) modified.push(path);
  }
  for (const [path, n] of live) if (!seen.has(path) && n.kind !== 'dir') added.push(path);
  return { backup: last.id, added, modified, deleted };
}

function changed(node: TreeNode, n: WalkNode): boolean {
  return n.kind !== 'file' || node.size !== n.meta.size || node.mtime !== n.meta.mtime;
}
