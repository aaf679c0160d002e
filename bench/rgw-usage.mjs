#!/usr/bin/env node
// bench/rgw-usage.mjs — requests counted by Ceph RADOS Gateway's usage log, for bench/remote.sh.
//
//   node bench/rgw-usage.mjs read CONF UID        prints {"ops":N,"categories":{"put_obj":n,...}}
//   node bench/rgw-usage.mjs diff BEFORE AFTER    prints "<ops>\t<category:n,...>" (AFTER − BEFORE)
//
// `read` sums `radosgw-admin -c CONF usage show --uid UID` over every bucket of the user, the
// bucket "-" included: the gateway files a request answered 404 (a HEAD or GET of a missing
// object) under "-" instead of its bucket. That is why the benchmark has a user of its own:
// the user's total is exactly the requests of the one tool running, whoever else uses the server.
import { execFileSync } from 'node:child_process';

const [cmd, a, b] = process.argv.slice(2);

function read(conf, uid) {
  let out;
  try {
    out = execFileSync('radosgw-admin', ['-c', conf, 'usage', 'show', '--uid', uid, '--show-log-entries=false'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      // a gateway whose OSD is full (memstore, 4 GiB: buckets left from other runs) answers never
      timeout: 120_000,
    });
  } catch (e) {
    throw new Error(
      `radosgw-admin usage show failed or hung (${e.code ?? e.signal ?? e.message}): is the test gateway's OSD full? ` +
        `ceph -c ${conf} -s tells; delete leftover buckets or restart it (node scripts/servers.mjs stop s3; node scripts/servers.mjs start s3)`,
    );
  }
  const categories = {};
  let ops = 0;
  for (const s of JSON.parse(out).summary ?? []) {
    if (s.user !== uid) continue;
    for (const c of s.categories ?? []) categories[c.category] = (categories[c.category] ?? 0) + c.ops;
    ops += s.total?.ops ?? 0;
  }
  return { ops, categories };
}

if (cmd === 'read' && a && b) {
  console.log(JSON.stringify(read(a, b)));
} else if (cmd === 'diff' && a && b) {
  const x = JSON.parse(a),
    y = JSON.parse(b);
  const kinds = Object.keys(y.categories)
    .sort()
    .map((k) => [k, y.categories[k] - (x.categories[k] ?? 0)])
    .filter(([, n]) => n !== 0)
    .map(([k, n]) => `${k}:${n}`);
  console.log(`${y.ops - x.ops}\t${kinds.join(',') || '-'}`);
} else {
  console.error('usage: node bench/rgw-usage.mjs read CONF UID | diff BEFORE_JSON AFTER_JSON');
  process.exit(2);
}
