#!/usr/bin/env -S node --max-semi-space-size=4
// archive_command's calls for WAL the background push has stored: answered without the whole CLI
if (process.argv[3] === 'archive-wal' && (await (await import('../dist/bundle/wal-fast.js')).archiveWalFast(process.argv))) process.exit(0);
const { main } = await import('../dist/bundle/main.js');

await main(process.argv);
