import { backupListSignature } from '../../app/backups/backup-list-signature.js';
import type { DashboardStarter } from '../../daemon/service.js';
import { isPrismError } from '../../errors/index.js';
import { checkListen, listenSettings, startDashboard } from './start-dashboard.js';

/**
 * What `prism start` gives the service: the dashboard on backup.dashboard.listen (none when it is
 * ""). A configuration it must refuse (a network address without TLS) stops the start; an address
 * in use does not: the backups matter more than their dashboard, so the service runs without it
 * and says so in its log (`prism status` shows the dashboard off).
 */
export const startServiceDashboard: DashboardStarter = async (ctx, log) => {
  const settings = listenSettings(ctx);
  if (settings.listen === '') return null;
  checkListen(settings);
  const { apiRoutes } = await import('../api/index.js');
  try {
    return await startDashboard({ ctx, settings, routes: apiRoutes, log, events: { backups: backupListSignature(ctx) } });
  } catch (e) {
    if (!isPrismError(e) || e.code !== 'DASHBOARD_UNSAFE' || e.details.errno === undefined) throw e;
    log.error({ event: 'dashboard.unavailable', address: settings.listen, error: e.message }, `dashboard not served: ${e.message}`);
    return null;
  }
};
