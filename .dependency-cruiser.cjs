/** Layer rules of the architecture: arrows point down only. */
const layers = ['cli', 'daemon', 'web', 'app', 'snapshot', 'policy', 'source', 'repo', 'backend', 'codec', 'config', 'errors', 'core'];
/** What each layer may import (besides itself and node_modules). */
const allowed = {
  cli: ['daemon', 'app', 'config', 'core', 'errors'],
  daemon: ['app', 'config', 'core', 'errors'],
  web: [],
  app: ['snapshot', 'policy', 'source', 'repo', 'backend', 'codec', 'config', 'errors', 'core'],
  snapshot: ['source', 'repo', 'backend', 'codec', 'errors', 'core'],
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
