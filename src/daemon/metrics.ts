import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import {
  FAILURE_WINDOW_DAYS,
  failuresIn,
  listBackups,
  readDrills,
  readTasks,
  recordedCopies,
  repositorySpace,
  type AppContext,
  type TaskRecord,
} from '../app/index.js';
import { BACKUP_TYPES } from '../core/types.js';
import { ALERT_SEVERITIES, type AlertSource } from './alert-source.js';

export interface MetricsSources {
  ctx: AppContext;
  alerts: AlertSource | null;
  /** The next cron time of each job. */
  nextRuns: () => readonly { job: string; at: Date | null }[];
}

const seconds = (iso: string | null | undefined): number => (iso ? Date.parse(iso) / 1000 : 0);

/** Prometheus metrics of the service, in their own registry; figures are read fresh at every scrape. */
export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly g: Record<string, Gauge> = {};
  private readonly jobRuns: Counter;
  private readonly copyBytes: Counter;

  constructor(private readonly sources: MetricsSources) {
    collectDefaultMetrics({ register: this.registry });
    const gauge = (name: string, help: string, labelNames: string[] = []) => {
      this.g[name] = new Gauge({ name, help, labelNames, registers: [this.registry] });
    };
    gauge('prism_backup_last_success_timestamp_seconds', 'End time of the newest completed backup of each type (Unix seconds).', ['type']);
    gauge('prism_backup_last_duration_seconds', 'Duration of the newest completed backup of each type.', ['type']);
    gauge('prism_backup_last_original_bytes', 'Original (source) size of the newest completed backup of each type.', ['type']);
    gauge('prism_backup_last_stored_bytes', 'Compressed size of the newest completed backup of each type.', ['type']);
    gauge('prism_backup_last_files', 'Files in the newest completed backup of each type.', ['type']);
    gauge('prism_backups', 'Backups in the repository by type and status.', ['type', 'status']);
    gauge('prism_backup_failures', `Failed or partial backup attempts of the last ${FAILURE_WINDOW_DAYS} days by type and error code.`, ['type', 'code']);
    gauge('prism_repository_size_bytes', 'Bytes the repository takes on disk.');
    gauge('prism_disk_free_bytes', 'Free space on the repository disk.');
    gauge('prism_disk_total_bytes', 'Size of the repository disk.');
    gauge('prism_job_last_success_timestamp_seconds', 'End time of the last ok run of each job (task log).', ['job']);
    gauge('prism_job_next_run_timestamp_seconds', 'Next cron time of each job.', ['job']);
    gauge('prism_alerts_active', 'Active alerts by severity.', ['severity']);
    gauge('prism_alert_active', 'Each active alert (1) by rule and severity.', ['rule', 'severity']);
    gauge('prism_alert_deliveries_pending', 'Alert notifications not delivered yet, by receiver (kept across restarts, retried at each evaluation).', [
      'receiver',
    ]);
    gauge('prism_alert_deliveries_failed', 'Pending alert notifications whose delivery was tried and failed, by receiver.', ['receiver']);
    gauge('prism_drill_last_rto_seconds', 'RTO measured by the last restore drill (0: no drill yet).');
    gauge('prism_drill_last_passed', 'Whether the last restore drill passed (1) or failed (0).');
    gauge('prism_drill_last_timestamp_seconds', 'Time of the last restore drill (0: none yet).');
    gauge('prism_drill_rto_target_seconds', 'The RTO target (drill.rto_target_seconds).');
    gauge('prism_copy_last_success_timestamp_seconds', 'End of the last successful run of each copy (0: none yet).', ['copy']);
    gauge('prism_copy_last_attempt_timestamp_seconds', 'End of the last run of each copy, whatever its outcome (0: none yet).', ['copy']);
    gauge('prism_copy_last_run_ok', 'Whether the last run of each copy succeeded (1) or failed (0); 0 before its first run.', ['copy']);
    gauge('prism_copy_lag_backups', "Backups of the primary newer than the copy's newest (after its last successful run).", ['copy']);
    gauge('prism_copy_lag_seconds', "How much older the copy's newest backup is than the primary's newest (-1: the copy holds none).", ['copy']);
    this.copyBytes = new Counter({
      name: 'prism_copy_bytes_total',
      help: 'Bytes copied into each copy by every recorded run (state/copy-NAME.json).',
      labelNames: ['copy'],
      registers: [this.registry],
    });
    this.jobRuns = new Counter({
      name: 'prism_job_runs_total',
      help: 'Job runs by this service process, by job and status.',
      labelNames: ['job', 'status'],
      registers: [this.registry],
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Counts a job run (the job runner tells each record). */
  countTask(task: TaskRecord): void {
    this.jobRuns.inc({ job: task.job, status: task.status });
  }

  /** The exposition text, after reading the repository, the task log, the drill history and the alerts. */
  async render(): Promise<string> {
    await this.refresh();
    return this.registry.metrics();
  }

  private async refresh(): Promise<void> {
    const { ctx, alerts, nextRuns } = this.sources;
    const home = ctx.config.home;
    for (const g of Object.values(this.g)) g.reset();
    const set = (name: string, value: number, labels: Record<string, string> = {}) => this.g[name]!.set(labels, value);

    const backups = await listBackups(ctx, {}, { missing: 'empty' }); // newest first
    this.copyBytes.reset();
    for (const { name: copy, state, lag } of recordedCopies(ctx, backups)) {
      set('prism_copy_last_success_timestamp_seconds', seconds(state?.last_success_at), { copy });
      set('prism_copy_last_attempt_timestamp_seconds', seconds(state?.last_attempt_at), { copy });
      set('prism_copy_last_run_ok', state?.last_status === 'ok' ? 1 : 0, { copy });
      set('prism_copy_lag_backups', lag.backups, { copy });
      set('prism_copy_lag_seconds', lag.seconds ?? -1, { copy });
      this.copyBytes.inc({ copy }, state?.bytes_total ?? 0);
    }
    for (const type of BACKUP_TYPES) {
      const last = backups.find((m) => m.type === type && m.status === 'completed');
      set('prism_backup_last_success_timestamp_seconds', seconds(last?.finished_at), { type });
      set('prism_backup_last_duration_seconds', (last?.duration_ms ?? 0) / 1000, { type });
      set('prism_backup_last_original_bytes', last?.stats.original_bytes ?? 0, { type });
      set('prism_backup_last_stored_bytes', last?.stats.stored_bytes ?? 0, { type });
      set('prism_backup_last_files', last?.stats.files ?? 0, { type });
    }
    for (const m of backups) this.g.prism_backups!.inc({ type: m.type, status: m.status });
    for (const f of failuresIn([...backups].reverse(), FAILURE_WINDOW_DAYS, ctx.clock.now()).failures)
      this.g.prism_backup_failures!.inc({ type: f.type, code: f.code });

    const space = await repositorySpace(ctx);
    set('prism_repository_size_bytes', space.repository_bytes);
    set('prism_disk_free_bytes', space.disk?.free ?? 0);
    set('prism_disk_total_bytes', space.disk?.total ?? 0);

    const lastOk = new Map<string, string>();
    for (const t of readTasks(home)) if (t.status === 'ok') lastOk.set(t.job, t.finished_at);
    for (const [job, at] of lastOk) set('prism_job_last_success_timestamp_seconds', seconds(at), { job });
    for (const n of nextRuns()) if (n.at) set('prism_job_next_run_timestamp_seconds', n.at.getTime() / 1000, { job: n.job });

    const active = alerts?.active(home) ?? [];
    for (const severity of ALERT_SEVERITIES) set('prism_alerts_active', active.filter((a) => a.severity === severity).length, { severity });
    for (const a of active) set('prism_alert_active', 1, { rule: a.rule, severity: a.severity });
    const owed = alerts?.deliveries?.(home);
    for (const [receiver, c] of Object.entries(owed?.by_receiver ?? {})) {
      set('prism_alert_deliveries_pending', c.pending, { receiver });
      set('prism_alert_deliveries_failed', c.failed, { receiver });
    }

    const drill = readDrills(home).at(-1);
    set('prism_drill_last_rto_seconds', drill?.rto_seconds ?? 0);
    set('prism_drill_last_passed', drill?.status === 'passed' ? 1 : 0);
    set('prism_drill_last_timestamp_seconds', seconds(drill?.time));
    set('prism_drill_rto_target_seconds', ctx.config.backup.drill.rto_target_seconds);
  }
}
