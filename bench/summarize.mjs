#!/usr/bin/env node
// bench/summarize.mjs — prism vs. peers, one Markdown section per dataset (stdout).
//
//   node bench/summarize.mjs OUTDIR [OUTDIR ...]
//
// OUTDIR is a per-dataset result dir of bench/run.sh: results.tsv (peers.sh format:
// tool step wall_s max_rss_kb repo_bytes user_s sys_s sync_s cache_bytes rc verify
// dataset dataset_bytes rep), optional skipped.tsv (tool step reason dataset rep) and
// env-prism.txt ("key: value" lines). With several reps the median is used.
// Ratios: time = peer / prism (> 1: prism faster); bytes and RSS = prism / peer
// (< 1: prism smaller). The tool prism-enc (prism on an encrypted repository) is shown beside
// prism with prism-enc / prism (time, bytes, RSS: > 1 = encryption costs that much) and each
// peer / prism-enc; the steps open1 / open20 (opening with 1 / 20 key files) get their own table.
import fs from 'node:fs';
import path from 'node:path';

const dirs = process.argv.slice(2);
if (!dirs.length) {
  console.error('usage: node bench/summarize.mjs OUTDIR [OUTDIR ...]   (OUTDIR holds results.tsv)');
  process.exit(2);
}

const readTsv = (file, cols) => {
  if (!fs.existsSync(file)) return [];
  const lines = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim());
  if (!cols) cols = lines.shift().split('\t');
  return lines.map((l) => {
    const v = l.split('\t');
    return Object.fromEntries(cols.map((c, i) => [c, v[i] ?? '']));
  });
};
const readEnv = (file) => {
  const env = {};
  if (fs.existsSync(file))
    for (const l of fs.readFileSync(file, 'utf8').split('\n')) {
      const m = /^(\w[\w-]*): (.*)$/.exec(l);
      if (m) env[m[1]] = m[2];
    }
  return env;
};
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
const pct = (x) => `${(100 * x).toFixed(1)} %`;
const STEPS = ['full', 'noop', 'incr', 'restore', 'check'];
const OPEN_STEPS = ['open1', 'open20'];
const ENC = 'prism-enc';
const BACKUP_STEPS = ['full', 'noop', 'incr'];

const out = [];
for (const dir of dirs) {
  const rows = readTsv(path.join(dir, 'results.tsv'));
  const skipped = readTsv(path.join(dir, 'skipped.tsv'), ['tool', 'step', 'reason', 'dataset', 'rep']);
  const env = readEnv(path.join(dir, 'env-prism.txt'));
  if (!rows.length) {
    out.push(`## ${path.basename(dir)}\n\nno results in ${path.join(dir, 'results.tsv')}\n`);
    continue;
  }

  // ds -> tool -> step -> rows
  const g = {};
  for (const r of rows) (((g[r.dataset] ??= {})[r.tool] ??= {})[r.step] ??= []).push(r);
  for (const [ds, byTool] of Object.entries(g)) {
    const dsBytes = +Object.values(Object.values(byTool)[0])[0][0].dataset_bytes;
    const rank = (t) => (t === 'prism' ? 0 : t === ENC ? 1 : 2);
    const tools = Object.keys(byTool).sort((a, b) => rank(a) - rank(b));
    const hasEnc = tools.includes(ENC);
    const peers = tools.filter((t) => t !== 'prism' && t !== ENC);
    const skip = {}; // tool -> step -> reason
    for (const s of skipped) if (s.dataset === ds) (skip[s.tool] ??= {})[s.step] = s.reason;
    // S[tool][step] = { wall, rss, repo, n, failed, verify } (medians over reps)
    const S = {};
    for (const t of tools) {
      for (const [step, rs] of Object.entries(byTool[t])) {
        const failed = rs.filter((r) => r.rc !== '0');
        (S[t] ??= {})[step] = {
          n: rs.length,
          failed: failed.length,
          rc: failed.map((r) => r.rc).join(','),
          wall: median(rs.map((r) => +r.wall_s)),
          rss: median(rs.map((r) => +r.max_rss_kb)),
          cpu: median(rs.map((r) => +r.user_s + +r.sys_s)),
          repo: median(rs.map((r) => +r.repo_bytes)),
          verify:
            rs
              .map((r) => r.verify)
              .filter((v) => v && v !== '-')
              .join(',') || '-',
        };
      }
    }
    const get = (t, s) => S[t]?.[s];
    const ok = (m) => m && !m.failed;
    const reps = Math.max(...tools.map((t) => get(t, 'full')?.n ?? 0));
    const cell = (t, s) => {
      const m = get(t, s);
      if (m) return m.failed ? `FAILED (rc ${m.rc})` : sec(m.wall);
      return skip[t]?.[s] ? 'skipped' : '–';
    };

    out.push(`## ${ds}: prism${hasEnc ? ` and ${ENC}` : ''} vs. ${peers.length ? peers.join(', ') : '(no peers)'}\n`);
    const files = /, (\d+) files\)/.exec(env.dataset ?? '')?.[1];
    out.push(
      `Dataset: ${mib(dsBytes)} MiB backed up (${dsBytes.toLocaleString('en-US')} bytes${files ? `, ${(+files).toLocaleString('en-US')} files` : ''}); logs/ and temp/ excluded. ` +
        `${reps} rep${reps === 1 ? '' : 's'} per tool${reps > 1 ? ' (medians)' : ''}, warm page cache.`,
    );
    if (env.date || env.machine) out.push(`Run: ${env.date ?? '?'} on ${env.machine ?? '?'}.`);
    if (env.prism) out.push(`prism: ${env.prism}; ${env.concurrency ?? ''}.`);
    const load = Math.max(+(env['load-start'] ?? '0').split(' ')[0] || 0, +(env['load-end'] ?? '0').split(' ')[0] || 0);
    if (env['load-start'])
      out.push(
        `Load average (1/5/15 min) before the run: ${env['load-start']}${env['load-end'] ? `, after: ${env['load-end']}` : ''}${+env['load-start'].split(' ')[0] > 0.5 ? ' (other work was running: timings are noisier)' : ''}.`,
      );
    if (env.build && env.build.includes('older')) out.push(`Warning: ${env.build}.`);
    if (hasEnc && env['prism-enc']) out.push(`${env['prism-enc']}; key derivation ${env['kdf-prism'] ?? '?'} (calibrated on this machine).`);
    out.push('');

    // --- wall time
    const r = (a, b) => (ok(a) && ok(b) ? ratio(a.wall, b.wall) : '–');
    out.push(
      `Wall time in seconds; ratio = peer time / prism time (> 1: prism is faster)${hasEnc ? `; ${ENC}/prism = the cost of encryption (< 1.10× is the target); peer/${ENC} = the peer against encrypted prism` : ''}:\n`,
    );
    const head = ['step', 'prism', ...(hasEnc ? [ENC, `${ENC}/prism`] : []), ...peers.flatMap((p) => [p, `${p}/prism`, ...(hasEnc ? [`${p}/${ENC}`] : [])])];
    out.push(`| ${head.join(' | ')} |`);
    out.push(`|${head.map((_, i) => (i ? '---:' : '---')).join('|')}|`);
    for (const s of ['init', ...STEPS]) {
      const pm = get('prism', s),
        em = get(ENC, s);
      const cells = [cell('prism', s)];
      if (hasEnc) cells.push(cell(ENC, s), r(em, pm));
      for (const p of peers) {
        const m = get(p, s);
        cells.push(cell(p, s), r(m, pm));
        if (hasEnc) cells.push(r(m, em));
      }
      out.push(`| ${s} | ${cells.join(' | ')} |`);
    }
    if (hasEnc && !/init --encrypt`$/.test(env['prism-enc'] ?? '') && get(ENC, 'full'))
      out.push(`\n${ENC} full includes creating the repository and its first key (scrypt calibration + one derivation); restic does that in its init.`);
    const pf = get('prism', 'full');
    // the "many small files" data sets (ds-files<COUNT>-s<SEED>): files per second beside MiB/s
    const perSec = (m) =>
      `${(dsBytes / MiB / m.wall).toFixed(1)} MiB/s${files && /^ds-files/.test(ds) ? `, ${Math.round(+files / m.wall).toLocaleString('en-US')} files/s` : ''}`;
    if (ok(pf)) out.push(`\nprism full backup: ${perSec(pf)}${ok(get(ENC, 'full')) ? `; ${ENC}: ${perSec(get(ENC, 'full'))}` : ''}.`);
    const sk = Object.entries(skip.prism ?? {});
    if (sk.length) out.push(`${pf ? '' : '\n'}Skipped for prism: ${sk.map(([s, why]) => `${s} (${why})`).join('; ')}.`);
    const verify = tools.filter((t) => get(t, 'restore')).map((t) => `${t} ${get(t, 'restore').verify}`);
    if (verify.length) out.push(`Restore verified (path, size, mode, mtime, sha256 of every file): ${verify.join(', ')}.`);
    const failed = tools.flatMap((t) => ['init', ...STEPS, ...OPEN_STEPS].filter((s) => get(t, s)?.failed).map((s) => `${t}/${s}`));
    if (failed.length) out.push(`**Failed steps: ${failed.join(', ')}** (see logs/).`);
    out.push('');

    // --- CPU time: less sensitive than wall time to other work on the machine
    const cpuTools = tools.filter((t) => t === 'prism' || t === ENC || t.startsWith('restic'));
    if (hasEnc || load > 0.5) {
      const c = (t, s) => (ok(get(t, s)) ? sec(get(t, s).cpu) : '–');
      const rc = (a, b) => (ok(a) && ok(b) && b.cpu > 0 ? ratio(a.cpu, b.cpu) : '–');
      out.push('CPU time (user + sys of all threads and child processes, seconds; less affected by other work on the machine than wall time):\n');
      const h = [
        'step',
        ...cpuTools,
        ...(hasEnc ? [`${ENC}/prism`] : []),
        ...cpuTools.filter((t) => t.startsWith('restic')).flatMap((t) => [`${t}/prism`, ...(hasEnc ? [`${t}/${ENC}`] : [])]),
      ];
      out.push(`| ${h.join(' | ')} |`);
      out.push(`|${h.map((_, i) => (i ? '---:' : '---')).join('|')}|`);
      for (const s of [...STEPS, ...OPEN_STEPS]) {
        if (!cpuTools.some((t) => get(t, s))) continue;
        const cells = cpuTools.map((t) => c(t, s));
        if (hasEnc) cells.push(rc(get(ENC, s), get('prism', s)));
        for (const t of cpuTools.filter((x) => x.startsWith('restic'))) {
          cells.push(rc(get(t, s), get('prism', s)));
          if (hasEnc) cells.push(rc(get(t, s), get(ENC, s)));
        }
        out.push(`| ${s} | ${cells.join(' | ')} |`);
      }
      out.push('');
    }

    // --- opening an encrypted repository
    const openTools = tools.filter((t) => OPEN_STEPS.some((s) => get(t, s)));
    if (openTools.length) {
      const others = openTools.filter((t) => t !== ENC);
      out.push(
        'Opening an encrypted repository (key derivation + a cheap command: `prism backup list`, `restic snapshots`), in seconds, with 1 and with 20 key files, the password matching the key tried last; ratio = peer / prism-enc (> 1: prism-enc opens faster):\n',
      );
      const h = ['step', ...openTools.flatMap((t) => (t === ENC ? [t] : [t, `${t}/${ENC}`]))];
      out.push(`| ${h.join(' | ')} |`);
      out.push(`|${h.map((_, i) => (i ? '---:' : '---')).join('|')}|`);
      for (const s of OPEN_STEPS) {
        const cells = [];
        for (const t of openTools) {
          cells.push(cell(t, s));
          if (t !== ENC) cells.push(r(get(t, s), get(ENC, s)));
        }
        out.push(`| ${s} | ${cells.join(' | ')} |`);
      }
      if (env['kdf-restic'] || others.length)
        out.push(`\nKey derivation: ${ENC} ${env['kdf-prism'] ?? '?'}${env['kdf-restic'] ? `; restic ${env['kdf-restic']}` : ''}.`);
      out.push('');
    }

    // --- repository size
    out.push('Repository size on disk (du -sb); ratio = prism / peer (< 1: prism repository is smaller):\n');
    out.push('| tool | after full (MiB) | % of dataset | after incr (MiB) | incr added (MiB) | prism/peer after full | prism/peer after incr |');
    out.push('|---|---:|---:|---:|---:|---:|---:|');
    const pi = get('prism', 'incr');
    for (const t of tools) {
      const a = get(t, 'full'),
        b = get(t, 'noop'),
        c = get(t, 'incr');
      const isP = t === 'prism' || t === ENC;
      out.push(
        `| ${t} | ${a ? mib(a.repo) : '–'} | ${a ? pct(a.repo / dsBytes) : '–'} | ${c ? mib(c.repo) : '–'} | ${c && b ? mib(c.repo - b.repo) : '–'} | ` +
          `${isP ? '' : ok(pf) && ok(a) ? ratio(pf.repo, a.repo) : '–'} | ${isP ? '' : ok(pi) && ok(c) ? ratio(pi.repo, c.repo) : '–'} |`,
      );
    }
    if (ok(pf))
      out.push(`\nprism compression on the dataset: 1 − ${mib(pf.repo)} MiB repository after full / ${mib(dsBytes)} MiB = ${pct(1 - pf.repo / dsBytes)}.`);
    const ef = get(ENC, 'full'),
      ei = get(ENC, 'incr');
    if (ok(pf) && ok(ef))
      out.push(
        `${ENC}/prism repository size: after full ${ratio(ef.repo, pf.repo)} (${ef.repo >= pf.repo ? '+' : '−'}${pct(Math.abs(ef.repo / pf.repo - 1))}, ${(ef.repo - pf.repo).toLocaleString('en-US')} bytes)` +
          `${ok(pi) && ok(ei) ? `, after incr ${ratio(ei.repo, pi.repo)} (${ei.repo >= pi.repo ? '+' : '−'}${pct(Math.abs(ei.repo / pi.repo - 1))})` : ''}; the target is at most +0.5 %.`,
      );
    out.push('');

    // --- peak RSS
    const peak = (t, steps) => {
      let best = null;
      for (const s of steps) {
        const m = get(t, s);
        if (m && Number.isFinite(m.rss) && (!best || m.rss > best.rss)) best = { rss: m.rss, step: s };
      }
      return best;
    };
    out.push('Peak max RSS (MiB, largest single process, from /usr/bin/time -v); ratio = prism / peer (< 1: prism uses less):\n');
    out.push('| tool | peak over full/noop/incr | peak over all steps (step) | prism/peer, backups | prism/peer, all steps |');
    out.push('|---|---:|---:|---:|---:|');
    const pb = peak('prism', BACKUP_STEPS),
      pa = peak('prism', STEPS);
    for (const t of tools) {
      const b = peak(t, BACKUP_STEPS),
        a = peak(t, STEPS),
        isP = t === 'prism' || t === ENC;
      out.push(
        `| ${t} | ${b ? mib(b.rss * 1024) : '–'} | ${a ? `${mib(a.rss * 1024)} (${a.step})` : '–'} | ` +
          `${isP ? '' : pb && b ? ratio(pb.rss, b.rss) : '–'} | ${isP ? '' : pa && a ? ratio(pa.rss, a.rss) : '–'} |`,
      );
    }
    const eb = peak(ENC, BACKUP_STEPS),
      ea = peak(ENC, STEPS);
    if (pb && eb) out.push(`\n${ENC}/prism peak RSS: backups ${ratio(eb.rss, pb.rss)}, all steps ${pa && ea ? ratio(ea.rss, pa.rss) : '–'}.`);
    if (sk.length) out.push(`\nprism's "all steps" peak covers only the steps it ran (${STEPS.filter((s) => get('prism', s)).join(', ')}).`);
    out.push('');
  }
}
console.log(out.join('\n'));
