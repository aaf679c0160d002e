import { backupListSignature } from '../../app/backups/backup-list-signature.js';
import type { DashboardStarter } from '../../daemon/service.js';
import { listenSettings, startDashboard } from './start-dashboard.js';

/** What `prism start` gives the service: the dashboard on backup.dashboard.listen (none when it is ""). */
export const startServiceDashboard: DashboardStarter = async (ctx, log) => {
  const settings = listenSettings(ctx);
  if (settings.listen === '') return null;
  const { apiRoutes } = await import('../api/index.js');
  return startDashboard({ ctx, settings, routes: apiRoutes, log, events: { backups: backupListSignature(ctx) } });
};
