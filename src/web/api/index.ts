import { backupRoutes } from './backups.js';
import { fileRoutes } from './backup-files.js';
import { configRoutes } from './config.js';
import { copyRoutes } from './copies.js';
import { databaseRoutes } from './databases.js';
import { diffRoutes } from './diff.js';
import { historyRoutes } from './history.js';
import { overviewRoutes } from './overview.js';
import { restoreRoutes } from './restore.js';
import { json, type ApiRoute } from './route.js';
import { taskRoutes } from './tasks.js';

const dataRoutes: ApiRoute[] = [
  ...overviewRoutes,
  ...backupRoutes,
  ...fileRoutes,
  ...diffRoutes,
  ...historyRoutes,
  ...restoreRoutes,
  ...databaseRoutes,
  ...copyRoutes,
  ...taskRoutes,
  ...configRoutes,
];

const index: ApiRoute = {
  method: 'GET',
  path: '/api',
  summary: 'this list of routes',
  handler: async () => json(apiRoutes.map((r) => ({ method: r.method, path: r.path, summary: r.summary }))),
};

/** The data endpoints of the dashboard's API; the server registers them (with its own session routes). */
export const apiRoutes: ApiRoute[] = [index, ...dataRoutes];
