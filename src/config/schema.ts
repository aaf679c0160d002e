import * as v from 'valibot';
import { RESTORE_WORK_PREFIX, isRestoreWorkName } from '../core/reserved-names.js';

/** backup.json: the SOP §9.1 keys, plus `sources`, `compression.algorithm`, `concurrency`, `verbose`. */
const count = v.pipe(v.number(), v.integer(), v.minValue(0));
const cron = v.pipe(v.string(), v.nonEmpty('a cron expression such as "0 2 * * 0"'));

/** A JSON object with exactly these keys (valibot's strictObject alone would take an array). */
function section<const E extends v.ObjectEntries>(entries: E) {
  return v.pipe(
    v.custom<Record<string, unknown>>((x) => typeof x === 'object' && x !== null && !Array.isArray(x), 'expected an object'),
    v.strictObject(entries),
  );
}
const relativePath = v.pipe(
  v.string(),
  v.nonEmpty(),
  v.check((p) => !p.startsWith('/') && !p.split('/').includes('..'), 'a path relative to PRISM_HOME without ".."'),
);
/** A folder to back up: not one of the names a restore works under. */
const includePath = v.pipe(
  relativePath,
  v.check(
    (p) => !isRestoreWorkName(p.split('/').find((s) => s.length > 0 && s !== '.') ?? ''),
    `not a name starting with "${RESTORE_WORK_PREFIX}" (reserved for prism's restore)`,
  ),
);

export const retentionSchema = section({
  full_backups_count: v.optional(count, 7),
  full_backups_age_days: v.optional(count, 7),
  incremental_backups_count: v.optional(count, 30),
  incremental_backups_age_days: v.optional(count, 30),
  max_total_backups: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 50),
  /**
   * PostgreSQL base backups (`prism pg basebackup`), as the full backups: the newest N are kept and
   * every one younger than the age; archived WAL older than the oldest kept one's start expires.
   */
  pg_base_backups_count: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 7),
  pg_base_backups_age_days: v.optional(count, 7),
  /**
   * MariaDB physical base backups (`prism mysql basebackup`), by the same rule, counted per server:
   * the newest N of each are kept and every one younger than the age; archived binary log files
   * that neither a kept base backup nor a kept backup replays expire.
   */
  mysql_base_backups_count: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 7),
  mysql_base_backups_age_days: v.optional(count, 7),
});

export const scheduleSchema = section({
  full_backup: v.optional(cron, '0 2 * * 0'),
  incremental_backup: v.optional(cron, '0 3 * * 1-5'),
  cleanup: v.optional(cron, '0 4 * * 0'),
  /** Background consistency check: reads the next part of the repository (see `verification`). */
  verify: v.optional(cron, '30 4 * * *'),
  /** Restore drill (SOP 7.4: monthly). */
  drill: v.optional(cron, '0 5 1 * *'),
  /** Archives the MySQL/MariaDB binary logs (FLUSH BINARY LOGS, then every closed file): the point-in-time window's lag. Runs only with a MySQL/MariaDB database in backup.databases. */
  binlog_archive: v.optional(cron, '*/15 * * * *'),
  /** A PostgreSQL base backup (`prism pg basebackup`) of the cluster of the database marked `pitr`. Runs only with such a database. */
  pg_basebackup: v.optional(cron, '0 1 * * 0'),
  /** A MariaDB physical base backup (`prism mysql basebackup`) of the server of the database marked `physical`. Runs only with such a database. */
  mysql_basebackup: v.optional(cron, '0 1 * * 0'),
});

const httpUrl = v.pipe(v.string(), v.url('an http:// or https:// URL'), v.regex(/^https?:\/\//i, 'an http:// or https:// URL'));
const positive = v.pipe(v.number(), v.integer(), v.minValue(1));

const severities = v.array(v.picklist(['critical', 'high', 'medium']));
/** What a route or an inhibition rule selects (policy/alert-routing.ts AlertMatch). */
const alertMatchSchema = section({
  severity: v.optional(severities),
  /** A key pattern; `*` stands for any run of characters. */
  key: v.optional(v.pipe(v.string(), v.nonEmpty())),
});
const routeSchema = section({
  match: v.optional(alertMatchSchema),
  steps: v.pipe(
    v.array(section({ receiver: v.pipe(v.string(), v.nonEmpty()), after_minutes: v.optional(count, 0) })),
    v.minLength(1, 'at least one step { "receiver": NAME, "after_minutes": N }'),
  ),
  repeat_minutes: v.optional(positive),
});
const inhibitSchema = section({
  source: alertMatchSchema,
  target: alertMatchSchema,
  equal: v.optional(v.array(v.picklist(['key', 'rule', 'severity', 'subject']))),
});

/**
 * The receivers a route may name: `webhook` (webhook_url set), `command` (command set), and each
 * entry of `receivers` by its name.
 */
export function alertReceiverNames(cfg: { webhook_url?: string | undefined; command?: string | undefined; receivers?: unknown }): string[] {
  const named = Array.isArray(cfg.receivers) ? cfg.receivers.map((r) => (r as { name?: unknown }).name).filter((n): n is string => typeof n === 'string') : [];
  return [...(cfg.webhook_url ? ['webhook'] : []), ...(cfg.command ? ['command'] : []), ...named];
}

const envName = v.pipe(v.string(), v.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'));
const filePath = v.pipe(v.string(), v.nonEmpty('a file path'));
/** An address as an SMTP server takes it: local@domain, no spaces or angle brackets. */
export const EMAIL_ADDRESS = /^[^\s@<>(),;:"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
const email = v.pipe(v.string(), v.regex(EMAIL_ADDRESS, 'an e-mail address such as ops@example.com'));
const receiverName = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a name of letters, digits, "_", "." or "-"'));

/** A URL that may carry a token: given in backup.json, or read from a file or an environment variable (exactly one). */
const secretUrl = {
  url: v.optional(httpUrl),
  url_file: v.optional(filePath),
  url_env: v.optional(envName),
};
const webhookReceiver = (kind: 'webhook' | 'slack' | 'teams' | 'discord' | 'healthchecks') =>
  v.strictObject({ name: receiverName, kind: v.literal(kind), ...secretUrl });

/** What one receiver's keys say together; [key, message] of the first contradiction. */
function receiverContradiction(r: Record<string, unknown>): [string, string] | undefined {
  const given = (...keys: string[]) => keys.filter((k) => r[k] !== undefined).length;
  if ('url' in r || 'url_file' in r || 'url_env' in r || (r.kind !== 'email' && r.kind !== 'command')) {
    if (given('url', 'url_file', 'url_env') !== 1) return ['url', 'exactly one of url, url_file or url_env'];
  }
  if (given('password', 'password_file', 'password_env') > 1) return ['password', 'at most one of password, password_file or password_env'];
  if (given('password', 'password_file', 'password_env') === 1 && r.user === undefined) return ['user', 'a password needs a user'];
  if (given('token', 'token_file', 'token_env') > 1) return ['token', 'at most one of token, token_file or token_env'];
  return undefined;
}

/** An alert receiver: where notifications go (docs/alerts.md). */
export const receiverSchema = v.variant(
  'kind',
  [
    v.strictObject({
      name: receiverName,
      kind: v.literal('email'),
      host: v.pipe(v.string(), v.nonEmpty('an SMTP server host name')),
      /** Default 465 with secure (TLS from the start), else 587. */
      port: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535))),
      /** TLS from the first byte (port 465). */
      secure: v.optional(v.boolean(), false),
      /** Without `secure`: refuse a server that does not offer STARTTLS (default true). */
      starttls: v.optional(v.boolean(), true),
      /** A PEM file of the CA that signed the server's certificate (a private CA or a self-signed server). */
      ca_file: v.optional(filePath),
      user: v.optional(v.pipe(v.string(), v.nonEmpty())),
      password: v.optional(v.string()),
      password_file: v.optional(filePath),
      password_env: v.optional(envName),
      from: email,
      to: v.pipe(v.array(email), v.minLength(1, 'at least one address')),
    }),
    webhookReceiver('webhook'),
    webhookReceiver('slack'),
    webhookReceiver('teams'),
    webhookReceiver('discord'),
    webhookReceiver('healthchecks'),
    v.strictObject({
      name: receiverName,
      kind: v.literal('ntfy'),
      /** The topic URL, e.g. https://ntfy.sh/my-backups. */
      ...secretUrl,
      token: v.optional(v.string()),
      token_file: v.optional(filePath),
      token_env: v.optional(envName),
    }),
    v.strictObject({ name: receiverName, kind: v.literal('command'), command: v.pipe(v.string(), v.nonEmpty()) }),
  ],
  'one of the kinds email, slack, teams, discord, ntfy, webhook, command, healthchecks',
);

/** SOP §5.2 alerts: where they go, in which order, and how often an active one is repeated. */
export const alertsSchema = v.pipe(
  section({
    /** Named receivers (docs/alerts.md); webhook_url and command stay as receivers named "webhook" and "command". */
    receivers: v.optional(
      v.pipe(
        v.array(receiverSchema),
        v.rawCheck(({ dataset, addIssue }) => {
          if (!dataset.typed) return;
          dataset.value.forEach((r, i) => {
            const bad = receiverContradiction(r);
            if (!bad) return;
            const path = [
              { type: 'array', origin: 'value', input: dataset.value, key: i, value: r },
              { type: 'object', origin: 'value', input: r, key: bad[0], value: (r as Record<string, unknown>)[bad[0]] },
            ];
            addIssue({ message: bad[1], path: path as never });
          });
        }),
        v.check((rs) => new Set(rs.map((r) => r.name)).size === rs.length, 'each receiver needs a name of its own'),
      ),
      () => [],
    ),
    webhook_url: v.optional(httpUrl),
    /** A shell command run per alert; the alert is passed as JSON on stdin and in PRISM_ALERT_* variables. */
    command: v.optional(v.pipe(v.string(), v.nonEmpty())),
    repeat_interval_minutes: v.optional(positive, 240),
    webhook_retries: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(10)), 3),
    webhook_timeout_ms: v.optional(positive, 5000),
    /** Who is told of which alert, in which order (the first route that matches); without routes every receiver at once. */
    routes: v.optional(v.array(routeSchema), () => []),
    /** Alerts that hold back others while active; default: a critical storage alert holds back the lower storage ones. */
    inhibit: v.optional(v.array(inhibitSchema), () => [
      { source: { severity: ['critical' as const], key: 'storage*' }, target: { severity: ['high' as const, 'medium' as const], key: 'storage*' } },
    ]),
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const names = alertReceiverNames(dataset.value);
    dataset.value.routes.forEach((route, i) =>
      route.steps.forEach((step, j) => {
        if (names.includes(step.receiver)) return;
        const path = ['routes', i, 'steps', j, 'receiver'].map((key) => ({ type: 'object', origin: 'value', input: {}, key, value: step.receiver }));
        addIssue({
          message: `a receiver defined in backup.alerts (${names.length ? names.map((n) => `"${n}"`).join(', ') : 'none yet: set webhook_url, command or receivers'}), not "${step.receiver}"`,
          path: path as never,
        });
      }),
    );
  }),
  v.forward(
    v.check(
      (a) => !a.receivers.some((r) => (r.name === 'webhook' && a.webhook_url !== undefined) || (r.name === 'command' && a.command !== undefined)),
      'webhook_url and command are the receivers named "webhook" and "command": give the receiver another name',
    ),
    ['receivers'],
  ),
);

/** SOP 7.4 restore drills. */
export const drillSchema = section({
  rto_target_seconds: v.optional(v.pipe(v.number(), v.minValue(0)), 10),
});

/** Background consistency checks (rotating verification). */
export const verificationSchema = section({
  /** Every pack is re-read at least once within this many days. */
  period_days: v.optional(positive, 7),
});

/** The service (prism start): metrics endpoint. */
export const serviceSchema = section({
  /** host:port for Prometheus /metrics; loopback by default. An empty string turns it off. */
  metrics_address: v.optional(v.string(), '127.0.0.1:9464'),
});

/** The dashboard (served by `prism start` and `prism ui`): address, authentication, TLS. */
export const dashboardSchema = v.pipe(
  section({
    /** host:port; loopback by default. An empty string turns it off. A non-loopback address needs TLS or `insecure`. */
    listen: v.optional(v.string(), '127.0.0.1:9470'),
    /** A password for the login page besides the token: an scrypt hash made by `prism ui --hash-password`. */
    password_hash: v.optional(
      v.pipe(v.string(), v.regex(/^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/, 'a hash printed by `prism ui --hash-password`')),
    ),
    /** PEM certificate and key files: the dashboard is served over HTTPS. */
    tls_cert: v.optional(v.pipe(v.string(), v.nonEmpty())),
    tls_key: v.optional(v.pipe(v.string(), v.nonEmpty())),
    /** Serve a non-loopback address over plain HTTP (passwords and tokens travel in clear). */
    insecure: v.optional(v.boolean(), false),
    /** How long a login lasts. */
    session_hours: v.optional(
      v.pipe(
        v.number(),
        v.check((h) => h > 0 && h <= 24 * 30, 'hours above 0, at most 720'),
      ),
      12,
    ),
  }),
  v.forward(
    v.check((d) => (d.tls_cert === undefined) === (d.tls_key === undefined), 'tls_cert and tls_key go together: set both or neither'),
    ['tls_key'],
  ),
);

const tableName = v.pipe(v.string(), v.nonEmpty());
/** A database backed up with every backup (native dump tools). */
const databaseEntries = section({
  name: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "." or "-"')),
  type: v.picklist(['postgres', 'mysql']),
  /** postgres://user[:password]@host[:port]/db or mysql://…; the password may instead come from password_file or env. */
  url: v.pipe(v.string(), v.regex(/^(postgres|postgresql|mysql|mariadb):\/\//, 'a postgres:// or mysql:// URL')),
  password_file: v.optional(v.pipe(v.string(), v.nonEmpty())),
  password_env: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'))),
  include_tables: v.optional(v.array(tableName)),
  exclude_tables: v.optional(v.array(tableName)),
  /**
   * PostgreSQL: this database's cluster archives its WAL into the repository (archive_command =
   * 'prism pg archive-wal %p'), and the service takes its base backups (schedule.pg_basebackup)
   * with these credentials (the user needs REPLICATION).
   */
  pitr: v.optional(v.boolean(), false),
  /**
   * MariaDB: the service takes physical base backups of this database's server with mariabackup
   * (schedule.mysql_basebackup), with these credentials (the user needs RELOAD, PROCESS, LOCK
   * TABLES and BINLOG MONITOR) on the host the server runs on; its binary log archive is this
   * entry's.
   */
  physical: v.optional(v.boolean(), false),
});
export const databaseSchema = v.pipe(
  databaseEntries,
  v.forward(
    v.check(
      (d) => !d.pitr || d.type === 'postgres',
      'pitr is for PostgreSQL (point-in-time recovery of MySQL/MariaDB replays the binary log: `prism mysql archive-binlog`)',
    ),
    ['pitr'],
  ),
  v.forward(
    v.check(
      (d) => !d.physical || d.type === 'mysql',
      'physical is for MySQL/MariaDB (the service takes PostgreSQL base backups of the database marked pitr: schedule.pg_basebackup)',
    ),
    ['physical'],
  ),
);

/** Disaster recovery (prism recover): commands run at checkpoint 4 (reindex, cache clear …). */
export const recoverySchema = section({
  rebuild_hooks: v.optional(v.array(v.pipe(v.string(), v.nonEmpty())), () => []),
});

export const compressionSchema = v.pipe(
  section({
    enabled: v.optional(v.boolean(), true),
    algorithm: v.optional(v.picklist(['zstd', 'gzip']), 'zstd'),
    /** zstd: 1–19 (default 3); gzip: 1–9 (default 6). */
    level: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(19))),
  }),
  v.forward(
    v.check((c) => c.algorithm !== 'gzip' || c.level === undefined || c.level <= 9, 'gzip levels run from 1 to 9'),
    ['level'],
  ),
);

/** zstd 3 (fast, ~70 % on text), gzip 6 (gzip's own default). */
export function defaultCompressionLevel(algorithm: 'zstd' | 'gzip'): number {
  return algorithm === 'zstd' ? 3 : 6;
}

/**
 * Encryption of a new repository. The password is never here: it comes from PRISM_PASSWORD_FILE,
 * PRISM_PASSWORD_COMMAND, PRISM_PASSWORD, a systemd credential or the terminal (config/password-sources.ts);
 * load-config refuses a password key under backup.encryption before this schema sees it.
 */
export const encryptionSchema = section({
  enabled: v.optional(v.boolean(), false),
});

/**
 * S3 Object Lock (kept apart so that every repository setting, a copy's destination too, takes
 * the same key): every object prism writes but the locks is kept for `days` from its write, and
 * maintenance extends that while a kept backup needs the object. The bucket must have Object
 * Lock. `days` may be fractional.
 */
export const objectLockSchema = section({
  mode: v.picklist(['compliance', 'governance'], 'compliance (nobody can shorten or lift it) or governance (credentials allowed to bypass can)'),
  days: v.pipe(
    v.number(),
    v.check((d) => d > 0, 'a number of days above 0'),
    v.maxValue(36500, 'at most 36500 days'),
  ),
});

export const checksumSchema = section({
  algorithm: v.optional(v.literal('sha256'), 'sha256'),
  verify_on_restore: v.optional(v.boolean(), true),
});

export const sourcesSchema = section({
  include: v.optional(v.pipe(v.array(includePath), v.minLength(1)), () => ['level-1-hot', 'level-2-warm', 'level-3-cold', 'config']),
  exclude: v.optional(v.array(v.pipe(v.string(), v.nonEmpty())), () => ['logs', 'temp', 'node_modules', '.git']),
});

/** host:port of a database URL, which names its cluster. */
function pitrCluster(url: string): string {
  const m = /^[a-z]+:\/\/(?:[^@/]*@)?([^/?]*)/i.exec(url);
  const hostPort = (m?.[1] ?? '').toLowerCase();
  return hostPort.includes(':') ? hostPort : `${hostPort}:5432`;
}

/**
 * A copy of the repository elsewhere (3-2-1): another disk, S3, Azure or SFTP. The service copies
 * after every backup (`after_backup`) and/or on `schedule`; `prism backup copy --to NAME` by hand.
 */
export const copySchema = section({
  name: v.pipe(v.string(), v.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'letters, digits, "_", "." or "-" (at most 64)')),
  /** A path (~ and relative to PRISM_HOME as storage_path) or a location such as s3:https://host/bucket/prefix. */
  repository: v.pipe(v.string(), v.nonEmpty()),
  after_backup: v.optional(v.boolean(), false),
  schedule: v.optional(cron),
  /** The copy's own retention (cleanup of the copy); default: the primary's retention_policy. */
  keep: v.optional(retentionSchema),
  /**
   * A file with the password of the copy's own key (an encrypted primary only): the copy gets a
   * master key of its own and every pack is sealed again on the way. Without it the copy shares
   * the primary's keys and packs move as they are.
   */
  password_file: v.optional(v.pipe(v.string(), v.nonEmpty())),
  /** S3 Object Lock retention of every object the copy holds (but its locks), as backup.object_lock is the primary's. */
  object_lock: v.optional(objectLockSchema),
});
export const copiesSchema = v.pipe(
  v.array(copySchema),
  v.check((cs) => new Set(cs.map((c) => c.name)).size === cs.length, 'each copy needs a name of its own'),
);

/**
 * PostgreSQL WAL archiving and restore (`prism pg archive-wal` / `restore-wal`): the call for one
 * segment also pushes the other ready segments in a background process, and a restore fetches
 * the next segments ahead, both through a spool directory of marks and prefetched files.
 */
export const pitrSchema = section({
  /** archive-wal: a background process pushes the other segments PostgreSQL has ready (archive_status/*.ready). */
  archive_async: v.optional(v.boolean(), true),
  /** Segments the background push stores at once (1–8). */
  archive_parallel: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(8)), 2),
  /** restore-wal: segments fetched ahead into the spool directory (0: none). */
  restore_prefetch: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(64)), 8),
  /** The spool directory (absolute, or relative to PRISM_HOME). */
  spool_dir: v.optional(v.pipe(v.string(), v.nonEmpty()), 'spool'),
});

export const backupSectionSchema = section({
  enabled: v.optional(v.boolean(), true),
  storage_path: v.optional(v.pipe(v.string(), v.nonEmpty()), '~/.prism-gateway-backups'),
  /** The name backups of this machine go under, where the machine's name is not stable (containers); default: the machine's name. */
  host: v.optional(v.pipe(v.string(), v.nonEmpty(), v.maxLength(253), v.regex(/^[^\s/\\]+$/, 'a host name without spaces or slashes'))),
  retention_policy: v.optional(retentionSchema, {}),
  schedule: v.optional(scheduleSchema, {}),
  compression: v.optional(compressionSchema, {}),
  checksum: v.optional(checksumSchema, {}),
  encryption: v.optional(encryptionSchema, {}),
  object_lock: v.optional(objectLockSchema),
  sources: v.optional(sourcesSchema, {}),
  /** Worker threads for hashing and compression; PRISM_BACKUP_CONCURRENCY overrides. */
  concurrency: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(64))),
  verbose: v.optional(v.boolean(), false),
  alerts: v.optional(alertsSchema, {}),
  drill: v.optional(drillSchema, {}),
  verification: v.optional(verificationSchema, {}),
  service: v.optional(serviceSchema, {}),
  dashboard: v.optional(dashboardSchema, {}),
  databases: v.optional(
    v.pipe(
      v.array(databaseSchema),
      v.check(
        (dbs) => new Set(dbs.filter((d) => d.pitr).map((d) => pitrCluster(d.url))).size <= 1,
        'pitr may be set for databases of one PostgreSQL cluster only (a repository holds the WAL archive of one cluster)',
      ),
      v.check(
        (dbs) => dbs.filter((d) => d.physical).length <= 1,
        "physical may be set on one MySQL/MariaDB database only (a physical base backup copies the whole server, and `prism mysql restore --at` picks among one server's base backups)",
      ),
    ),
    () => [],
  ),
  recovery: v.optional(recoverySchema, {}),
  copies: v.optional(copiesSchema, () => []),
  pitr: v.optional(pitrSchema, {}),
});

export const configFileSchema = section({
  backup: v.optional(backupSectionSchema, {}),
});

export type ConfigFile = v.InferOutput<typeof configFileSchema>;
export type BackupSection = v.InferOutput<typeof backupSectionSchema>;
export type DatabaseConfig = v.InferOutput<typeof databaseSchema>;
export type CopyConfig = v.InferOutput<typeof copySchema>;
export type AlertsConfig = v.InferOutput<typeof alertsSchema>;
export type ReceiverConfig = v.InferOutput<typeof receiverSchema>;
export type ObjectLockConfig = v.InferOutput<typeof objectLockSchema>;
