import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from './load-config.js';
import { configFilePath, expandHome, prismHome } from './paths.js';
import { configHomes, expectConfigInvalid } from '../testing/config-homes.js';

/** The example of SOP §9.1, verbatim. */
const SOP_EXAMPLE = `{
  "backup": {
    "enabled": true,
    "storage_path": "~/.prism-gateway-backups",
    "retention_policy": {
      "full_backups_count": 7,
      "full_backups_age_days": 7,
      "incremental_backups_count": 30,
      "incremental_backups_age_days": 30,
      "max_total_backups": 50
    },
    "schedule": {
      "full_backup": "0 2 * * 0",
      "incremental_backup": "0 3 * * 1-5",
      "cleanup": "0 4 * * 0"
    },
    "compression": {
      "enabled": true,
      "level": 9
    },
    "checksum": {
      "algorithm": "sha256",
      "verify_on_restore": true
    }
  }
}
`;

const home = configHomes();

describe('loadConfig: defaults', () => {
  it('uses the SOP §9.1 defaults when there is no config file', () => {
    const h = home();
    const c = loadConfig({ PRISM_HOME: h });
    assert.equal(c.home, h);
    assert.equal(c.configFile, path.join(h, 'config', 'backup.json'));
    assert.equal(c.configFileExists, false);
    const b = c.backup;
    assert.equal(b.enabled, true);
    assert.equal(b.storage_path, '~/.prism-gateway-backups');
    assert.deepEqual(b.retention_policy, {
      full_backups_count: 7,
      full_backups_age_days: 7,
      incremental_backups_count: 30,
      incremental_backups_age_days: 30,
      max_total_backups: 50,
      pg_base_backups_count: 7,
      pg_base_backups_age_days: 7,
      mysql_base_backups_count: 7,
      mysql_base_backups_age_days: 7,
    });
    assert.deepEqual(b.schedule, {
      full_backup: '0 2 * * 0',
      incremental_backup: '0 3 * * 1-5',
      cleanup: '0 4 * * 0',
      verify: '30 4 * * *',
      drill: '0 5 1 * *',
      binlog_archive: '*/15 * * * *',
      pg_basebackup: '0 1 * * 0',
      mysql_basebackup: '0 1 * * 0',
    });
    assert.deepEqual(b.alerts, {
      receivers: [],
      repeat_interval_minutes: 240,
      webhook_retries: 3,
      webhook_timeout_ms: 5000,
      routes: [],
      inhibit: [{ source: { severity: ['critical'], key: 'storage*' }, target: { severity: ['high', 'medium'], key: 'storage*' } }],
    });
    assert.deepEqual(b.drill, { rto_target_seconds: 10 });
    assert.deepEqual(b.verification, { period_days: 7 });
    assert.deepEqual(b.service, { metrics_address: '127.0.0.1:9464' });
    assert.deepEqual(b.dashboard, { listen: '127.0.0.1:9470', insecure: false, session_hours: 12 });
    assert.deepEqual(b.databases, []);
    assert.deepEqual(b.recovery, { rebuild_hooks: [] });
    assert.equal(b.compression.enabled, true);
    assert.equal(b.compression.algorithm, 'zstd');
    assert.deepEqual(b.checksum, { algorithm: 'sha256', verify_on_restore: true });
    assert.deepEqual(b.sources.include, ['level-1-hot', 'level-2-warm', 'level-3-cold', 'config']);
    assert.deepEqual(b.sources.exclude, ['logs', 'temp', 'node_modules', '.git']);
    assert.equal(c.storagePath, path.join(os.homedir(), '.prism-gateway-backups'));
    assert.equal(c.verbose, false);
    assert.equal(c.concurrency, os.availableParallelism());
  });

  it('marks every defaulted key as default', () => {
    const c = loadConfig({ PRISM_HOME: home() });
    for (const key of [
      'backup.enabled',
      'backup.storage_path',
      'backup.retention_policy.full_backups_count',
      'backup.retention_policy.full_backups_age_days',
      'backup.retention_policy.incremental_backups_count',
      'backup.retention_policy.incremental_backups_age_days',
      'backup.retention_policy.max_total_backups',
      'backup.retention_policy.pg_base_backups_count',
      'backup.retention_policy.pg_base_backups_age_days',
      'backup.retention_policy.mysql_base_backups_count',
      'backup.retention_policy.mysql_base_backups_age_days',
      'backup.schedule.full_backup',
      'backup.schedule.mysql_basebackup',
      'backup.schedule.incremental_backup',
      'backup.schedule.cleanup',
      'backup.compression.enabled',
      'backup.encryption.enabled',
      'backup.checksum.algorithm',
      'backup.checksum.verify_on_restore',
      'backup.verbose',
    ]) {
      assert.equal(c.origins[key], 'default', key);
    }
    assert.ok(Object.values(c.origins).every((o) => o === 'default'));
  });

  it('accepts an empty object as the whole file', () => {
    const c = loadConfig({ PRISM_HOME: home('{}') });
    assert.equal(c.configFileExists, true);
    assert.equal(c.backup.retention_policy.max_total_backups, 50);
  });

  it('ignores empty env values', () => {
    const c = loadConfig({ PRISM_HOME: home(), PRISM_BACKUP_PATH: '', PRISM_BACKUP_CONCURRENCY: '', PRISM_BACKUP_VERBOSE: '' });
    assert.equal(c.storagePath, path.join(os.homedir(), '.prism-gateway-backups'));
    assert.equal(c.verbose, false);
    assert.equal(c.origins['backup.storage_path'], 'default');
  });
});

describe('loadConfig: the SOP example file', () => {
  it('loads, with its values marked as from the file', () => {
    const h = home(SOP_EXAMPLE);
    const c = loadConfig({ PRISM_HOME: h });
    assert.equal(c.configFileExists, true);
    assert.equal(c.backup.enabled, true);
    assert.equal(c.backup.compression.level, 9);
    assert.equal(c.backup.compression.enabled, true);
    assert.equal(c.backup.compression.algorithm, 'zstd');
    assert.equal(c.backup.retention_policy.incremental_backups_count, 30);
    assert.equal(c.backup.schedule.incremental_backup, '0 3 * * 1-5');
    assert.equal(c.backup.checksum.verify_on_restore, true);
    assert.equal(c.storagePath, path.join(os.homedir(), '.prism-gateway-backups'));
    assert.equal(c.origins['backup.compression.level'], 'file');
    assert.equal(c.origins['backup.retention_policy.full_backups_count'], 'file');
    assert.equal(c.origins['backup.schedule.cleanup'], 'file');
    assert.equal(c.origins['backup.storage_path'], 'file');
    assert.equal(c.origins['backup.compression.algorithm'], 'default');
    assert.equal(c.origins['backup.verbose'], 'default');
    assert.equal(c.origins['backup.sources.include'], 'default');
  });

  it('mixes file values and defaults inside one section', () => {
    const c = loadConfig({ PRISM_HOME: home({ backup: { retention_policy: { full_backups_count: 3 }, compression: { algorithm: 'gzip', level: 9 } } }) });
    assert.equal(c.backup.retention_policy.full_backups_count, 3);
    assert.equal(c.backup.retention_policy.full_backups_age_days, 7);
    assert.equal(c.origins['backup.retention_policy.full_backups_count'], 'file');
    assert.equal(c.origins['backup.retention_policy.full_backups_age_days'], 'default');
    assert.equal(c.backup.compression.algorithm, 'gzip');
    assert.equal(c.backup.compression.level, 9);
  });
});

describe('loadConfig: storage path', () => {
  it('expands ~ in storage_path to the home directory', () => {
    const c = loadConfig({ PRISM_HOME: home({ backup: { storage_path: '~/prism-test-backups' } }) });
    assert.equal(c.storagePath, path.join(os.homedir(), 'prism-test-backups'));
    const bare = loadConfig({ PRISM_HOME: home({ backup: { storage_path: '~' } }) });
    assert.equal(bare.storagePath, os.homedir());
  });

  it('resolves a relative storage_path against PRISM_HOME and keeps absolute ones', () => {
    const h = home({ backup: { storage_path: 'backups' } });
    assert.equal(loadConfig({ PRISM_HOME: h }).storagePath, path.join(h, 'backups'));
    const abs = path.join(home(), 'abs-backups');
    assert.equal(loadConfig({ PRISM_HOME: home({ backup: { storage_path: abs } }) }).storagePath, abs);
  });

  it('expandHome and prismHome', () => {
    assert.equal(expandHome('~', '/h'), '/h');
    assert.equal(expandHome('~/x/y', '/h'), path.join('/h', 'x', 'y'));
    assert.equal(expandHome('/abs/~', '/h'), '/abs/~');
    assert.equal(expandHome('~user/x', '/h'), '~user/x');
    assert.equal(prismHome({}), path.join(os.homedir(), '.prism-gateway'));
    assert.equal(prismHome({ PRISM_HOME: '' }), path.join(os.homedir(), '.prism-gateway'));
    assert.equal(prismHome({ PRISM_HOME: '/srv/prism/' }), '/srv/prism');
    assert.equal(configFilePath('/srv/prism'), path.join('/srv/prism', 'config', 'backup.json'));
  });
});

describe('loadConfig: environment overrides', () => {
  it('PRISM_BACKUP_PATH / _CONCURRENCY / _VERBOSE override the file and are marked env', () => {
    const h = home({ backup: { storage_path: '/from/file', concurrency: 2, verbose: false } });
    const fileOnly = loadConfig({ PRISM_HOME: h });
    assert.equal(fileOnly.storagePath, '/from/file');
    assert.equal(fileOnly.concurrency, 2);
    assert.equal(fileOnly.origins['backup.storage_path'], 'file');
    assert.equal(fileOnly.origins['backup.concurrency'], 'file');
    assert.equal(fileOnly.origins['backup.verbose'], 'file');

    const c = loadConfig({ PRISM_HOME: h, PRISM_BACKUP_PATH: '/mnt/backup', PRISM_BACKUP_CONCURRENCY: '5', PRISM_BACKUP_VERBOSE: 'true' });
    assert.equal(c.storagePath, '/mnt/backup');
    assert.equal(c.concurrency, 5);
    assert.equal(c.verbose, true);
    assert.equal(c.origins['backup.storage_path'], 'env');
    assert.equal(c.origins['backup.concurrency'], 'env');
    assert.equal(c.origins['backup.verbose'], 'env');
    assert.equal(c.origins['backup.retention_policy.full_backups_count'], 'default');
  });

  it('env overrides apply without a config file too', () => {
    const c = loadConfig({ PRISM_HOME: home(), PRISM_BACKUP_PATH: '~/env-backups', PRISM_BACKUP_CONCURRENCY: '64', PRISM_BACKUP_VERBOSE: 'off' });
    assert.equal(c.storagePath, path.join(os.homedir(), 'env-backups'));
    assert.equal(c.concurrency, 64);
    assert.equal(c.verbose, false);
    assert.equal(c.origins['backup.verbose'], 'env');
  });

  it('accepts the usual boolean spellings for PRISM_BACKUP_VERBOSE', () => {
    const h = home();
    for (const v of ['true', 'TRUE', '1', 'yes', 'on', ' On ']) assert.equal(loadConfig({ PRISM_HOME: h, PRISM_BACKUP_VERBOSE: v }).verbose, true, v);
    for (const v of ['false', '0', 'no', 'off', 'False']) assert.equal(loadConfig({ PRISM_HOME: h, PRISM_BACKUP_VERBOSE: v }).verbose, false, v);
  });

  it('rejects bad PRISM_BACKUP_CONCURRENCY values, naming the variable', () => {
    const h = home();
    for (const v of ['abc', '0', '-1', '65', '2.5', '5x']) {
      const e = expectConfigInvalid(() => loadConfig({ PRISM_HOME: h, PRISM_BACKUP_CONCURRENCY: v }), 'PRISM_BACKUP_CONCURRENCY', v, '1 to 64');
      assert.equal(e.details.key, 'PRISM_BACKUP_CONCURRENCY');
      assert.equal(e.details.value, v);
    }
  });

  it('rejects bad PRISM_BACKUP_VERBOSE values, naming the variable', () => {
    const e = expectConfigInvalid(() => loadConfig({ PRISM_HOME: home(), PRISM_BACKUP_VERBOSE: 'maybe' }), 'PRISM_BACKUP_VERBOSE', 'maybe', 'true or false');
    assert.equal(e.details.key, 'PRISM_BACKUP_VERBOSE');
  });
});

describe('loadConfig: service, alerts and database sections', () => {
  it('takes databases, alerts and the service address from the file', () => {
    const h = home({
      backup: {
        alerts: { webhook_url: 'http://127.0.0.1:8080/hook', repeat_interval_minutes: 30 },
        databases: [{ name: 'app', type: 'postgres', url: 'postgres://postgres@127.0.0.1:5432/test', exclude_tables: ['sessions'] }],
        service: { metrics_address: '127.0.0.1:9999' },
      },
    });
    const c = loadConfig({ PRISM_HOME: h });
    assert.equal(c.backup.alerts.webhook_url, 'http://127.0.0.1:8080/hook');
    assert.equal(c.backup.alerts.repeat_interval_minutes, 30);
    assert.equal(c.backup.databases[0]!.type, 'postgres');
    assert.deepEqual(c.backup.databases[0]!.exclude_tables, ['sessions']);
    assert.equal(c.backup.service.metrics_address, '127.0.0.1:9999');
  });

  it('takes the dashboard settings, naming the key of a bad one', () => {
    const hash = 'scrypt$15$8$1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U';
    const h = home({ backup: { dashboard: { listen: '', password_hash: hash, tls_cert: '/c.pem', tls_key: '/k.pem', session_hours: 1.5 } } });
    const d = loadConfig({ PRISM_HOME: h }).backup.dashboard;
    assert.deepEqual(d, { listen: '', password_hash: hash, tls_cert: '/c.pem', tls_key: '/k.pem', insecure: false, session_hours: 1.5 });
    expectConfigInvalid(() => loadConfig({ PRISM_HOME: home({ backup: { dashboard: { password_hash: 'hunter2' } } }) }), 'backup.dashboard.password_hash');
    expectConfigInvalid(() => loadConfig({ PRISM_HOME: home({ backup: { dashboard: { tls_cert: '/c.pem' } } }) }), 'backup.dashboard.tls_key');
    expectConfigInvalid(() => loadConfig({ PRISM_HOME: home({ backup: { dashboard: { session_hours: 0 } } }) }), 'backup.dashboard.session_hours');
    expectConfigInvalid(() => loadConfig({ PRISM_HOME: home({ backup: { dashboard: { listen: 9470 } } }) }), 'backup.dashboard.listen');
    expectConfigInvalid(() => loadConfig({ PRISM_HOME: home({ backup: { dashboard: { port: 9470 } } }) }), 'backup.dashboard');
  });

  it('refuses a database of an unknown type and a webhook that is not http', () => {
    const h1 = home({ backup: { databases: [{ name: 'x', type: 'oracle', url: 'postgres://h/db' }] } });
    expectConfigInvalid(() => loadConfig({ PRISM_HOME: h1 }), 'backup.databases.0.type', '"oracle"');
    const h2 = home({ backup: { alerts: { webhook_url: 'ftp://example.org/x' } } });
    expectConfigInvalid(() => loadConfig({ PRISM_HOME: h2 }), 'backup.alerts.webhook_url');
  });

  it('pitr: PostgreSQL only, and databases of one cluster only', () => {
    const db = (name: string, url: string, extra: object = {}) => ({ name, type: url.startsWith('mysql') ? 'mysql' : 'postgres', url, ...extra });
    const ok = loadConfig({
      PRISM_HOME: home({
        backup: {
          databases: [db('a', 'postgres://u@db1:5432/a', { pitr: true }), db('b', 'postgres://u@db1/b', { pitr: true }), db('c', 'postgres://u@db2/c')],
        },
      }),
    });
    assert.deepEqual(
      ok.backup.databases.map((d) => d.pitr),
      [true, true, false],
    );
    expectConfigInvalid(
      () => loadConfig({ PRISM_HOME: home({ backup: { databases: [db('m', 'mysql://root@h/m', { pitr: true })] } }) }),
      'backup.databases.0.pitr',
      'prism mysql archive-binlog',
    );
    expectConfigInvalid(
      () =>
        loadConfig({
          PRISM_HOME: home({ backup: { databases: [db('a', 'postgres://u@db1/a', { pitr: true }), db('b', 'postgres://u@db2/b', { pitr: true })] } }),
        }),
      'backup.databases',
      'one PostgreSQL cluster',
    );
    expectConfigInvalid(
      () => loadConfig({ PRISM_HOME: home({ backup: { databases: [db('a', 'postgres://u@db1/a', { pitr: 'yes' })] } }) }),
      'backup.databases.0.pitr',
    );
  });

  it('physical: MySQL/MariaDB only, on one database only, off by default', () => {
    const db = (name: string, url: string, extra: object = {}) => ({ name, type: url.startsWith('mysql') ? 'mysql' : 'postgres', url, ...extra });
    const ok = loadConfig({
      PRISM_HOME: home({
        backup: {
          databases: [db('shop', 'mysql://root@db1/shop', { physical: true }), db('crm', 'mysql://root@db1/crm'), db('p', 'postgres://u@db2/p')],
          retention_policy: { mysql_base_backups_count: 3, mysql_base_backups_age_days: 0 },
          schedule: { mysql_basebackup: '15 0 * * *' },
        },
      }),
    });
    assert.deepEqual(
      ok.backup.databases.map((d) => d.physical),
      [true, false, false],
    );
    assert.deepEqual(
      [ok.backup.retention_policy.mysql_base_backups_count, ok.backup.retention_policy.mysql_base_backups_age_days, ok.backup.schedule.mysql_basebackup],
      [3, 0, '15 0 * * *'],
    );
    assert.equal(ok.origins['backup.retention_policy.mysql_base_backups_count'], 'file');
    expectConfigInvalid(
      () => loadConfig({ PRISM_HOME: home({ backup: { databases: [db('p', 'postgres://u@h/p', { physical: true })] } }) }),
      'backup.databases.0.physical',
      'schedule.pg_basebackup',
    );
    expectConfigInvalid(
      () =>
        loadConfig({
          PRISM_HOME: home({ backup: { databases: [db('a', 'mysql://root@db1/a', { physical: true }), db('b', 'mysql://root@db2/b', { physical: true })] } }),
        }),
      'backup.databases',
      'one MySQL/MariaDB database only',
    );
    expectConfigInvalid(
      () => loadConfig({ PRISM_HOME: home({ backup: { databases: [db('a', 'mysql://root@db1/a', { physical: 1 })] } }) }),
      'backup.databases.0.physical',
      'boolean',
    );
    expectConfigInvalid(() => loadConfig({ PRISM_HOME: home({ backup: { schedule: { mysql_basebackup: '' } } }) }), 'backup.schedule.mysql_basebackup');
  });
});

describe('loadConfig: backup.encryption', () => {
  it('is off by default and read from the file', () => {
    const none = loadConfig({ PRISM_HOME: home() });
    assert.deepEqual(none.encryption, { enabled: false });
    assert.equal(none.backup.encryption.enabled, false);
    const on = loadConfig({ PRISM_HOME: home({ backup: { encryption: { enabled: true } } }) });
    assert.deepEqual(on.encryption, { enabled: true });
    assert.equal(on.origins['backup.encryption.enabled'], 'file');
  });

  it('refuses a password, passphrase or password file in backup.json, naming the environment variables and not the value', () => {
    const cases: [object, string][] = [
      [{ enabled: true, password: 'hunter2-S3CRET' }, 'backup.encryption.password'],
      [{ Passphrase: 'hunter2-S3CRET' }, 'backup.encryption.Passphrase'],
      [{ password_file: '/etc/prism/S3CRET' }, 'backup.encryption.password_file'],
      [{ keys: [{ password: 'hunter2-S3CRET' }] }, 'backup.encryption.keys.0.password'],
    ];
    for (const [encryption, key] of cases) {
      const e = expectConfigInvalid(
        () => loadConfig({ PRISM_HOME: home({ backup: { encryption } }) }),
        key,
        'passwords never go into backup.json',
        'PRISM_PASSWORD_FILE',
        'PRISM_PASSWORD_COMMAND',
      );
      assert.equal(e.details.key, key);
      assert.doesNotMatch(e.message, /S3CRET/);
      assert.doesNotMatch(JSON.stringify(e.toJSON()), /S3CRET/);
    }
    const placed = expectConfigInvalid(() =>
      loadConfig({ PRISM_HOME: home('{\n  "backup": {\n    "encryption": {\n      "enabled": true,\n      "password": "x"\n    }\n  }\n}\n') }),
    );
    assert.deepEqual([placed.details.line, placed.details.column], [5, 7]);
  });

  it('does not quote a wrong value under backup.encryption (it may be a password in the wrong place)', () => {
    for (const backup of [{ encryption: 'hunter2-S3CRET' }, { encryption: { enabled: 'hunter2-S3CRET' } }, { encryption: { key: 'hunter2-S3CRET' } }]) {
      const e = expectConfigInvalid(() => loadConfig({ PRISM_HOME: home({ backup }) }), 'backup.encryption', '(value not shown)');
      assert.doesNotMatch(JSON.stringify(e.toJSON()), /S3CRET/);
    }
    // elsewhere values are still quoted
    expectConfigInvalid(() => loadConfig({ PRISM_HOME: home({ backup: { compression: { enabled: 'yes' } } }) }), '"yes"');
  });
});

describe('loadConfig: backup.copies', () => {
  it('resolves each copy: paths as storage_path, retention defaulting to the primary one, remote locations as written', () => {
    const h = home({
      backup: {
        retention_policy: { full_backups_count: 4 },
        copies: [
          { name: 'disk2', repository: 'copies/disk2', after_backup: true, password_file: 'secrets/copy-pw' },
          { name: 'cloud', repository: 's3:https://s3.example/bucket/gw', schedule: '0 6 * * *', keep: { full_backups_count: 12 } },
        ],
      },
    });
    const c = loadConfig({ PRISM_HOME: h });
    assert.deepEqual(
      c.copies.map((x) => [x.name, x.location, x.afterBackup, x.schedule, x.passwordFile, x.keep.full_backups_count]),
      [
        ['disk2', path.join(h, 'copies/disk2'), true, undefined, path.join(h, 'secrets/copy-pw'), 4],
        ['cloud', 's3:https://s3.example/bucket/gw', false, '0 6 * * *', undefined, 12],
      ],
    );
    assert.deepEqual(loadConfig({ PRISM_HOME: home({}) }).copies, []);
  });

  it('refuses two copies of one name, a name with a slash, and unknown keys', () => {
    const twice = { name: 'a', repository: '/x' };
    expectConfigInvalid(() => loadConfig({ PRISM_HOME: home({ backup: { copies: [twice, twice] } }) }), 'each copy needs a name of its own');
    expectConfigInvalid(() => loadConfig({ PRISM_HOME: home({ backup: { copies: [{ name: 'a/b', repository: '/x' }] } }) }), 'backup.copies.0.name');
    expectConfigInvalid(() => loadConfig({ PRISM_HOME: home({ backup: { copies: [{ name: 'a', repository: '/x', password: 'p' }] } }) }), 'backup.copies.0');
  });
});
