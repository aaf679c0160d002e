import type { Command } from 'commander';
import type { HealthIndicator } from '../../app/index.js';
import { REPO_OPTION, repoContext } from '../context.js';
import { out, printJson } from '../output.js';
import { renderCopies } from '../render/render-copies.js';
import { runAction } from '../run-action.js';
import { renderAlerts } from './alerts.js';

const TITLES: Record<HealthIndicator['name'], (t: number) => string> = {
  recent_success: (t) => `Successful backup in the last ${t} h`,
  failure_rate: (t) => `Failure rate under ${t}% (30 days)`,
  storage: (t) => `Storage use under ${t}%`,
};

export function registerBackupHealth(backup: Command): void {
  backup
    .command('health')
    .description('the SOP health indicators (recent success, failure rate, storage), the copies (newest backup, lag) and active alerts; exit 1 when unhealthy')
    .option('--json', 'print as JSON')
    .option(...REPO_OPTION)
    .action(
      runAction(async (opts: { json?: boolean; repo?: string }) => {
        const { backupHealth } = await import('../../app/monitoring/backup-health.js');
        const h = await backupHealth(await repoContext(opts));
        if (opts.json) printJson(h);
        else {
          out(`Backup health: ${h.healthy ? 'HEALTHY' : 'UNHEALTHY'}`);
          for (const i of h.indicators) out(`  [${i.ok ? 'OK' : 'FAIL'}] ${TITLES[i.name](i.threshold)}: ${i.message}`);
          if (h.copies.length > 0) out(renderCopies(h.copies));
          out(h.alerts.length === 0 ? 'Active alerts: none' : `Active alerts: ${h.alerts.length}`);
          if (h.alerts.length > 0) out(renderAlerts(h.alerts));
        }
        return h.healthy ? 0 : 1;
      }),
    );
}
