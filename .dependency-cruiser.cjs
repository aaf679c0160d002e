/** Layer rules of the architecture: arrows point down only. */
const layers = ['cli', 'web', 'daemon', 'app', 'snapshot', 'policy', 'source', 'repo', 'backend', 'codec', 'config', 'errors', 'core'];
/** What each layer may import (besides itself and node_modules). */
const allowed = {
  cli: ['web', 'daemon', 'app', 'config', 'core', 'errors'],
  daemon: ['app', 'config', 'core', 'errors'],
  web: ['daemon', 'app', 'config', 'core', 'errors'],
  app: ['snapshot', 'policy', 'source', 'repo', 'codec', 'config', 'errors', 'core'],
  snapshot: ['source', 'repo', 'codec', 'errors', 'core'],
  policy: ['core'],
  source: ['errors', 'core'],
  repo: ['backend', 'codec', 'errors', 'core'],
  backend: ['errors', 'core'],
  codec: ['core'],
  config: ['errors', 'core'],
  errors: [],
  core: [],
};

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles.',
      from: {},
      to: { circular: true },
    },
    ...layers.map((layer) => ({
      name: `layer-${layer}`,
      severity: 'error',
      comment: `${layer}/ may import only: ${allowed[layer].join(', ') || 'nothing else in src'}.`,
      from: { path: `^src/${layer}/`, pathNot: '\\.test\\.ts$' },
      to: { path: '^src/', pathNot: [`^src/${layer}/`, ...allowed[layer].map((l) => `^src/${l}/`)] },
    })),
    // subjects inside the layers: a change to one engine, or to file backups, stays in its folder
    ...[
      ['source-fs-no-engines', '^src/source/fs/', '^src/source/(postgres|mysql|import|db)/', 'the file system code knows no database engine'],
      ['source-postgres-no-mysql', '^src/source/postgres/', '^src/source/(mysql|import)/', 'PostgreSQL code does not import MySQL or import code'],
      ['source-mysql-no-postgres', '^src/source/mysql/', '^src/source/(postgres|import)/', 'MySQL code does not import PostgreSQL or import code'],
      ['app-pitr-postgres-no-mysql', '^src/app/pitr/postgres/', '^src/app/pitr/mysql/', 'PostgreSQL PITR does not import MySQL PITR'],
      ['app-pitr-mysql-no-postgres', '^src/app/pitr/mysql/', '^src/app/pitr/postgres/', 'MySQL PITR does not import PostgreSQL PITR'],
      ['app-backups-no-pitr', '^src/app/(backups|restore)/', '^src/app/pitr/', 'backups and restores of files do not depend on point-in-time recovery'],
    ].map(([name, from, to, comment]) => ({ name, severity: 'error', comment, from: { path: from, pathNot: '\\.test\\.ts$' }, to: { path: to } })),
    {
      name: 'stored-bytes-through-repo',
      severity: 'error',
      comment: 'Everything that reads or writes the repository goes through repo/: only repo/ imports backend/.',
      from: { path: '^src/', pathNot: ['^src/(repo|backend|testing)/', '\\.test\\.ts$'] },
      to: { path: '^src/backend/' },
    },
    {
      name: 'repository-through-its-index',
      severity: 'error',
      comment: 'Outside repo/, Repository comes from repo/index.ts, which leaves out backendOf (the backend is for repo/ only).',
      from: { path: '^src/', pathNot: ['^src/repo/', '\\.test\\.ts$'] },
      to: { path: '^src/repo/repository\\.ts$' },
    },
    {
      name: 'one-place-picks-the-backend',
      severity: 'error',
      comment: 'repo/open-backend.ts is the one place that constructs a backend (the workers use it too).',
      from: { path: '^src/', pathNot: ['^src/repo/open-backend\\.ts$', '^src/(backend|testing)/', '\\.test\\.ts$'] },
      to: { path: '^src/backend/(index|local-backend)\\.ts$' },
    },
    {
      name: 'testing-only-in-tests',
      severity: 'error',
      comment: 'src/testing is for tests only.',
      from: { path: '^src/', pathNot: ['\\.test\\.ts$', '^src/testing/'] },
      to: { path: '^src/testing/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
  },
};
