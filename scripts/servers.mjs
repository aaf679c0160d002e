#!/usr/bin/env node
// The real storage servers the remote-repository tests use, on loopback: Ceph RADOS Gateway (S3),
// Azurite (Azure Blob) and OpenSSH (SFTP). Each is driven by its script in scripts/servers/; this
// runs them in parallel and writes endpoints.json, which src/testing/test-servers.ts reads.
//
//   node scripts/servers.mjs start|stop|status [s3|azure|sftp ...]   (default: all three)
//
// `start` is idempotent and quick when they already run (`npm test` calls it every time). State
// and logs live under $PRISM_SERVERS_DIR (default /tmp/prism-servers); see docs/test-servers.md.
import { spawn } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPTS = join(dirname(fileURLToPath(import.meta.url)), 'servers');
const DIR = process.env.PRISM_SERVERS_DIR || '/tmp/prism-servers';
const ENDPOINTS = join(DIR, 'endpoints.json');
/** endpoints.json's key for each server, and the script (and the other name it answers to). */
const SERVERS = [
  { key: 's3', script: 'ceph-rgw' },
  { key: 'azure', script: 'azurite' },
  { key: 'sftp', script: 'sshd' },
];

/** Runs `bash scripts/servers/<script>.sh <action>`; `echo` passes its lines through as they come. */
function run(script, action, echo) {
  return new Promise((resolve) => {
    const child = spawn('bash', [join(SCRIPTS, `${script}.sh`), action], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    const pass = (stream, out) => {
      let partial = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk) => {
        if (stream === child.stdout) stdout += chunk;
        if (!echo) return;
        const lines = (partial + chunk).split('\n');
        partial = lines.pop();
        for (const line of lines) out.write(line.startsWith(`${script}:`) ? `${line}\n` : `${script}: ${line}\n`);
      });
      stream.on('end', () => {
        if (echo && partial) out.write(`${script}: ${partial}\n`);
      });
    };
    pass(child.stdout, process.stdout);
    pass(child.stderr, process.stderr);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout }));
  });
}

function select(names) {
  if (names.length === 0) return SERVERS;
  return names.map((n) => {
    const s = SERVERS.find((s) => s.key === n || s.script === n);
    if (!s) {
      console.error(`servers: unknown server "${n}" (known: ${SERVERS.map((s) => `${s.key} (${s.script})`).join(', ')})`);
      process.exit(2);
    }
    return s;
  });
}

/** Exits with the one apt-get line to run when a Debian package a server needs is missing. */
async function requirePackages(servers) {
  const missing = new Set();
  for (const { stdout } of await Promise.all(servers.map((s) => run(s.script, 'needs', false)))) {
    for (const p of stdout.split('\n').filter(Boolean)) missing.add(p);
  }
  if (missing.size > 0) {
    console.error(`servers: missing Debian packages; run: apt-get install -y --no-install-recommends ${[...missing].sort().join(' ')}`);
    process.exit(3);
  }
}

/**
 * Rewrites endpoints.json with every server that answers now, whichever run started it (`healthy`
 * were just started or found running: no second check).
 */
async function writeEndpoints(healthy = []) {
  const endpoints = {};
  await Promise.all(
    SERVERS.map(async (s) => {
      if (!healthy.includes(s) && (await run(s.script, 'status', false)).code !== 0) return;
      const described = await run(s.script, 'describe', false);
      if (described.code === 0) endpoints[s.key] = JSON.parse(described.stdout);
    }),
  );
  const ordered = Object.fromEntries(SERVERS.filter((s) => endpoints[s.key]).map((s) => [s.key, endpoints[s.key]]));
  if (Object.keys(ordered).length === 0) {
    rmSync(ENDPOINTS, { force: true });
    return;
  }
  mkdirSync(DIR, { recursive: true });
  // written aside and renamed, so a test never reads half a file
  const tmp = `${ENDPOINTS}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(ordered, null, 2)}\n`);
  renameSync(tmp, ENDPOINTS);
}

const seconds = (t0) => ((performance.now() - t0) / 1000).toFixed(1);

async function main() {
  const [action, ...names] = process.argv.slice(2);
  const servers = select(names);
  const t0 = performance.now();
  let failed = [];
  if (action === 'start') {
    await requirePackages(servers);
    const results = await Promise.all(servers.map((s) => run(s.script, 'start', true)));
    failed = servers.filter((_, i) => results[i].code !== 0);
    await writeEndpoints(servers.filter((s) => !failed.includes(s)));
    console.log(`servers: ${failed.length ? `${failed.map((s) => s.script).join(', ')} failed;` : 'ready'} in ${seconds(t0)} s (endpoints in ${ENDPOINTS})`);
  } else if (action === 'stop') {
    const results = await Promise.all(servers.map((s) => run(s.script, 'stop', true)));
    failed = servers.filter((_, i) => results[i].code !== 0);
    await writeEndpoints();
    console.log(`servers: stopped in ${seconds(t0)} s`);
  } else if (action === 'status') {
    const results = await Promise.all(servers.map((s) => run(s.script, 'status', true)));
    failed = servers.filter((_, i) => results[i].code !== 0);
  } else {
    console.error('usage: node scripts/servers.mjs start|stop|status [s3|azure|sftp ...]');
    process.exit(2);
  }
  process.exitCode = failed.length ? 1 : 0;
}

await main();
