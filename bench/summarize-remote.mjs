#!/usr/bin/env node
// bench/summarize-remote.mjs — the Markdown summary of bench/remote.sh (stdout).
//
//   node bench/summarize-remote.mjs OUTDIR
//
// OUTDIR holds remote.tsv (tool step wall_s max_rss_kb repo_bytes requests user_s sys_s
// cache_bytes rc verify dataset dataset_bytes rep request_kinds) and remote-env.txt. Tools are
// named <kind>-<store>: kind prism, prism-enc or restic; store local, s3 or sftp. With several
// reps the median is used. Per store: wall time with restic / prism (> 1: prism is faster),
// requests (restic / prism: > 1 = prism sends fewer), peak RSS and repository bytes (prism /
// restic: < 1 = prism smaller); then prism's peak RSS on each remote store against the same
// backup to a local disk (the target: at most 64 MiB more).
import fs from 'node:fs';
import path from 'node:path';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node bench/summarize-remote.mjs OUTDIR   (OUTDIR holds remote.tsv)');
  process.exit(2);
}
const file = path.join(dir, 'remote.tsv');
const lines = fs.existsSync(file)
  ? fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
  : [];
const cols = (lines.shift() ?? '').split('\t');
const rows = lines.map((l) => Object.fromEntries(l.split('\t').map((v, i) => [cols[i], v])));
const env = {};
const envFile = path.join(dir, 'remote-env.txt');
if (fs.existsSync(envFile))
  for (const l of fs.readFileSync(envFile, 'utf8').split('\n')) {
    const m = /^(\w[\w-]*): (.*)$/.exec(l);
    if (m) env[m[1]] = m[2];
  }
if (!rows.length) {
  console.log(`## ${path.basename(dir)}: remote stores\n\nno results in ${file}\n`);
  process.exit(0);
}

const median = (a) => {
  const s = [...a].sort((x, y) => x - y),
    m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const MiB = 2 ** 20;
const sec = (x) => (x < 1 ? x.toFixed(3) : x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0));
const mib = (b) => {
  const x = b / MiB;
  return x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0);
};
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : '–');
const STEPS = ['init', 'full', 'noop', 'restore'];
const KINDS = ['prism', 'prism-enc', 'restic'];

// S[tool][step] = medians over reps, with failures and verification
const S = {};
for (const r of rows) ((S[r.tool] ??= {})[r.step] ??= []).push(r);
for (const t of Object.keys(S))
  for (const [step, rs] of Object.entries(S[t])) {
    const failed = rs.filter((r) => r.rc !== '0');
    const num = (k) => (rs.every((r) => /^-?[\d.]+$/.test(r[k])) ? median(rs.map((r) => +r[k])) : NaN);
    S[t][step] = {
      failed: failed.length,
      rc: failed.map((r) => r.rc).join(','),
      wall: num('wall_s'),
      cpu: num('user_s') + num('sys_s'),
      rss: num('max_rss_kb') * 1024,
      repo: num('repo_bytes'),
      requests: num('requests'),
      kinds: rs.length === 1 ? rs[0].request_kinds : '',
      verify: rs.map((r) => r.verify).filter((v) => v && v !== '-'),
      n: rs.length,
    };
  }
const get = (t, s) => S[t]?.[s];
const ok = (m) => m && !m.failed;
const failure = (m) => (/^(124|137)(,|$)/.test(m.rc) ? 'TIMED OUT' : `FAILED (rc ${m.rc})`);
const show = (m, f) => (!m ? '–' : m.failed ? failure(m) : Number.isFinite(f(m)) ? null : '–');
const cellOf = (fmt, key) => (t, s) => {
  const m = get(t, s);
  return show(m, (x) => x[key]) ?? fmt(m[key]);
};
const r = (key, a, b) => (ok(a) && ok(b) ? ratio(a[key], b[key]) : '–');

const ds = rows[0].dataset,
  dsBytes = +rows[0].dataset_bytes;
const reps = Math.max(...rows.map((x) => +x.rep));
const out = [];
out.push(`## ${ds}: repositories on remote stores, prism vs. restic\n`);
const files = /, (\d+) files\)/.exec(env.dataset ?? '')?.[1];
out.push(
  `Dataset: ${mib(dsBytes)} MiB backed up (${dsBytes.toLocaleString('en-US')} bytes${files ? `, ${(+files).toLocaleString('en-US')} files` : ''}); logs/ and temp/ excluded. ` +
    `${reps} rep${reps === 1 ? '' : 's'} per tool${reps > 1 ? ' (medians)' : ''}; each tool in a fresh bucket / directory of its own; servers on loopback, so the times are the tools' own work plus the servers', not a network's.`,
);
if (env.date) out.push(`Run: ${env.date} on ${env.machine ?? '?'}; prism ${env.prism ?? '?'}; ${env.restic ?? ''}.`);
if (env['load-start']) out.push(`Load average before: ${env['load-start']}${env['load-end'] ? `, after: ${env['load-end']}` : ''}.`);
if (env.s3) out.push(`S3: ${env.s3}. Requests: ${env.requests ?? '?'}.`);
if (env.sftp) out.push(`SFTP: ${env.sftp}.`);
out.push(
  'Steps: init (restic init; prism-enc `prism init --encrypt`; none for prism, whose first backup creates the repository), full, noop (nothing changed), restore (newest backup into an empty directory).',
);
out.push('');

const table = (title, head, body) => {
  out.push(`${title}\n`);
  out.push(`| ${head.join(' | ')} |`);
  out.push(`|${head.map((_, i) => (i ? '---:' : '---')).join('|')}|`);
  for (const b of body) out.push(`| ${b.join(' | ')} |`);
  out.push('');
};

const storeName = { s3: 'S3 (Ceph RADOS Gateway)', sftp: 'SFTP (OpenSSH)' };
for (const store of ['s3', 'sftp']) {
  const tools = KINDS.map((k) => `${k}-${store}`).filter((t) => S[t]);
  if (!tools.length) continue;
  const restic = `restic-${store}`,
    prisms = tools.filter((t) => t !== restic),
    hasRestic = tools.includes(restic);
  const steps = STEPS.filter((s) => tools.some((t) => get(t, s)));
  out.push(`### ${storeName[store]}\n`);
  // restic / prism for time and requests (> 1: prism better); prism / restic for RSS and bytes (< 1: prism better)
  const vs = (key, inverse) =>
    hasRestic
      ? prisms.map((p) => ({
          head: inverse ? `${p}/restic` : `restic/${p}`,
          f: (s) => (inverse ? r(key, get(p, s), get(restic, s)) : r(key, get(restic, s), get(p, s))),
        }))
      : [];
  const section = (title, key, fmt, inverse) => {
    const v = vs(key, inverse);
    table(
      title,
      ['step', ...tools, ...v.map((x) => x.head)],
      steps.map((s) => [s, ...tools.map((t) => cellOf(fmt, key)(t, s)), ...v.map((x) => x.f(s))]),
    );
  };
  section('Wall time (s); restic/prism > 1: prism is faster:', 'wall', sec, false);
  section(
    'CPU time of the tool (s, user + sys of all its threads and child processes, not the servers; less affected than wall time by other work on the machine):',
    'cpu',
    sec,
    false,
  );
  if (tools.some((t) => steps.some((s) => Number.isFinite(get(t, s)?.requests)))) {
    section('Requests served by the gateway during the step; restic/prism > 1: prism sends fewer:', 'requests', (x) => String(x), false);
    const kinds = [];
    for (const t of tools) for (const s of steps) if (get(t, s)?.kinds && get(t, s).kinds !== '-') kinds.push([t, s, get(t, s).kinds.replaceAll(',', ', ')]);
    if (kinds.length) table("Requests by kind (the usage log's categories; a HEAD counts as get_obj):", ['tool', 'step', 'requests'], kinds);
  }
  section('Peak RSS (MiB, largest process, /usr/bin/time -v); prism/restic < 1: prism uses less:', 'rss', mib, true);
  section(
    `Repository bytes after the step (MiB; ${store === 's3' ? 'sum of the object sizes in the bucket' : 'sum of the file sizes in the directory'}); prism/restic < 1: prism's is smaller:`,
    'repo',
    mib,
    true,
  );
  const verify = tools.filter((t) => get(t, 'restore')).map((t) => `${t} ${get(t, 'restore').verify.join(',') || '?'}`);
  if (verify.length) out.push(`Restore verified (path, size, mode, mtime, sha256 of every file): ${verify.join(', ')}.\n`);
}

// prism's peak RSS on a remote store against the same backup to a local disk
const LIMIT = 64 * MiB;
const body = [];
for (const kind of ['prism', 'prism-enc'])
  for (const step of ['full', 'noop']) {
    const l = get(`${kind}-local`, step);
    if (!ok(l)) continue;
    for (const store of ['s3', 'sftp']) {
      const m = get(`${kind}-${store}`, step);
      if (!m) continue;
      const d = ok(m) ? m.rss - l.rss : NaN;
      body.push([
        kind,
        step,
        store,
        mib(l.rss),
        ok(m) ? mib(m.rss) : failure(m),
        Number.isFinite(d) ? `${d >= 0 ? '+' : '−'}${mib(Math.abs(d))}` : '–',
        store === 's3' && Number.isFinite(d) ? (d <= LIMIT ? 'met' : '**not met**') : '',
      ]);
    }
  }
if (body.length)
  table(
    'prism peak RSS, remote store against a local disk in the same run (MiB; the target: a backup to S3 uses at most 64 MiB more than to a local disk):',
    ['tool', 'step', 'store', 'local', 'remote', 'remote − local', 'S3 target (≤ +64 MiB)'],
    body,
  );

const failed = Object.keys(S).flatMap((t) => STEPS.filter((s) => get(t, s)?.failed).map((s) => `${t}/${s}`));
if (failed.length) out.push(`**Failed steps: ${failed.join(', ')}** (see logs/remote.*).\n`);
console.log(out.join('\n'));
