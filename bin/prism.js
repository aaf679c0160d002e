#!/usr/bin/env -S node --max-semi-space-size=4
// archive_command's calls for WAL the background push has stored, and restore_command's for WAL
// fetched ahead: answered without the whole CLI
if (process.argv[2] === 'pg' && (process.argv[3] === 'archive-wal' || process.argv[3] === 'restore-wal')) {
  const fast = await import('../dist/bundle/wal-fast.js');
  if (await (process.argv[3] === 'archive-wal' ? fast.archiveWalFast : fast.restoreWalFast)(process.argv)) process.exit(0);
}
const { main } = await import('../dist/bundle/main.js');

await main(process.argv);
