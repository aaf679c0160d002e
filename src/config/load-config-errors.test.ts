import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from './load-config.js';
import { configFilePath } from './paths.js';
import { configHomes, expectConfigInvalid } from '../testing/config-homes.js';

const home = configHomes();

describe('loadConfig: broken config files', () => {
  it('wrong type: names the key, the value and the expected type', () => {
    const e = expectConfigInvalid(
      () => loadConfig({ PRISM_HOME: home({ backup: { retention_policy: { full_backups_count: '7' } } }) }),
      'backup.retention_policy.full_backups_count',
      '"7"',
      'number',
    );
    assert.equal(e.details.key, 'backup.retention_policy.full_backups_count');
    assert.equal(e.details.value, '7');
    assert.ok(String(e.details.file).endsWith(path.join('config', 'backup.json')));
    expectConfigInvalid(() => loadConfig({ PRISM_HOME: home({ backup: { enabled: 'yes' } }) }), 'backup.enabled', '"yes"', 'boolean');
    expectConfigInvalid(() => loadConfig({ PRISM_HOME: home({ backup: { schedule: 'daily' } }) }), 'backup.schedule', '"daily"', 'an object');
  });

  it('out-of-range values: names key, value and the bound', () => {
    expectConfigInvalid(() => loadConfig({ PRISM_HOME: home({ backup: { compression: { level: 25 } } }) }), 'backup.compression.level', '25', '19');
    expectConfigInvalid(() => loadConfig({ PRISM_HOME: home({ backup: { compression: { level: 0 } } }) }), 'backup.compression.level', '0', '1');
    expectConfigInvalid(
      () => loadConfig({ PRISM_HOME: home({ backup: { retention_policy: { full_backups_age_days: -1 } } }) }),
      'backup.retention_policy.full_backups_age_days',
      '-1',
      '0',
    );
    expectConfigInvalid(
      () => loadConfig({ PRISM_HOME: home({ backup: { retention_policy: { max_total_backups: 0 } } }) }),
      'backup.retention_policy.max_total_backups',
      '0',
      '1',
    );
    expectConfigInvalid(
      () => loadConfig({ PRISM_HOME: home({ backup: { retention_policy: { pg_base_backups_count: 0 } } }) }),
      'backup.retention_policy.pg_base_backups_count',
      '0',
      '1',
    );
    expectConfigInvalid(
      () => loadConfig({ PRISM_HOME: home({ backup: { retention_policy: { pg_base_backups_age_days: -2 } } }) }),
      'backup.retention_policy.pg_base_backups_age_days',
      '-2',
      '0',
    );
    expectConfigInvalid(
      () => loadConfig({ PRISM_HOME: home({ backup: { retention_policy: { mysql_base_backups_count: 0 } } }) }),
      'backup.retention_policy.mysql_base_backups_count',
      '0',
      '1',
    );
    expectConfigInvalid(
      () => loadConfig({ PRISM_HOME: home({ backup: { retention_policy: { mysql_base_backups_count: 1.5 } } }) }),
      'backup.retention_policy.mysql_base_backups_count',
      '1.5',
    );
    expectConfigInvalid(
      () => loadConfig({ PRISM_HOME: home({ backup: { retention_policy: { mysql_base_backups_age_days: -1 } } }) }),
      'backup.retention_policy.mysql_base_backups_age_days',
      '-1',
      '0',
    );
    expectConfigInvalid(
      () => loadConfig({ PRISM_HOME: home({ backup: { retention_policy: { mysql_base_backups_age_days: '7' } } }) }),
      'backup.retention_policy.mysql_base_backups_age_days',
      '"7"',
      'number',
    );
    expectConfigInvalid(() => loadConfig({ PRISM_HOME: home({ backup: { concurrency: 65 } }) }), 'backup.concurrency', '65', '64');
    expectConfigInvalid(
      () => loadConfig({ PRISM_HOME: home({ backup: { retention_policy: { full_backups_count: 2.5 } } }) }),
      'backup.retention_policy.full_backups_count',
      '2.5',
    );
  });

  it('gzip level 12 is rejected with the gzip range', () => {
    const e = expectConfigInvalid(
      () => loadConfig({ PRISM_HOME: home({ backup: { compression: { algorithm: 'gzip', level: 12 } } }) }),
      'backup.compression.level',
      '12',
      '1 to 9',
    );
    assert.equal(e.details.key, 'backup.compression.level');
    // the same level is fine for zstd
    assert.equal(loadConfig({ PRISM_HOME: home({ backup: { compression: { algorithm: 'zstd', level: 12 } } }) }).backup.compression.level, 12);
  });

  it('unknown algorithm values are rejected', () => {
    expectConfigInvalid(() => loadConfig({ PRISM_HOME: home({ backup: { compression: { algorithm: 'lz4' } } }) }), 'backup.compression.algorithm', '"lz4"');
    expectConfigInvalid(() => loadConfig({ PRISM_HOME: home({ backup: { checksum: { algorithm: 'md5' } } }) }), 'backup.checksum.algorithm', '"md5"', 'sha256');
  });

  it('unknown keys (typos) are rejected, naming the key', () => {
    const e = expectConfigInvalid(
      () => loadConfig({ PRISM_HOME: home({ backup: { retention_polcy: { full_backups_count: 3 } } }) }),
      'backup.retention_polcy',
      'no such key',
    );
    assert.equal(e.details.key, 'backup.retention_polcy');
    expectConfigInvalid(
      () => loadConfig({ PRISM_HOME: home({ backup: { schedule: { full_backups: '0 1 * * *' } } }) }),
      'backup.schedule.full_backups',
      'no such key',
    );
    expectConfigInvalid(() => loadConfig({ PRISM_HOME: home({ backups: {} }) }), 'backups', 'no such key');
  });

  it('invalid JSON is rejected, naming the file', () => {
    const h = home('{ "backup": { "enabled": true, } }');
    expectConfigInvalid(() => loadConfig({ PRISM_HOME: h }), configFilePath(h), 'not valid JSON');
    expectConfigInvalid(() => loadConfig({ PRISM_HOME: home('') }), 'not valid JSON');
  });

  it('a syntax error is named by line, column and the key it is in, not by character offset', () => {
    const h = home('{\n  "backup": {\n    "enabled": true,\n    "storage_path": "/srv/backups",\n  }\n}\n');
    const e = expectConfigInvalid(
      () => loadConfig({ PRISM_HOME: h }),
      `${configFilePath(h)}, line 5, column 3: not valid JSON (in backup): a comma before "}" (JSON allows no trailing comma)`,
    );
    assert.deepEqual([e.details.line, e.details.column, e.details.key], [5, 3, 'backup']);
    assert.doesNotMatch(e.message, /position/);
    const secret = home('{"backup": {"databases": [{"name": "app", "type": "postgres", "url": "postgres://u:s3cret@db/app"\n  }, x]}}');
    const e2 = expectConfigInvalid(() => loadConfig({ PRISM_HOME: secret }), 'line 2, column 6: not valid JSON (in backup.databases.1)');
    assert.doesNotMatch(e2.message, /s3cret/, 'the text of the file is not quoted');
  });

  it('a value of the wrong kind is named by line, column and key', () => {
    const h = home('{\n  "backup": {\n    "retention_policy": {\n      "full_backups_count": 3,\n      "full_backups_age_days": "7"\n    }\n  }\n}\n');
    const e = expectConfigInvalid(
      () => loadConfig({ PRISM_HOME: h }),
      `${configFilePath(h)}, line 5, column 7: backup.retention_policy.full_backups_age_days = "7": expected number`,
    );
    assert.deepEqual([e.details.line, e.details.column, e.details.key], [5, 7, 'backup.retention_policy.full_backups_age_days']);
    const typo = expectConfigInvalid(
      () => loadConfig({ PRISM_HOME: home('{\n  "backup": {\n    "retention_polcy": {}\n  }\n}') }),
      'line 3, column 5: backup.retention_polcy = {}: no such key',
    );
    assert.equal(typo.details.line, 3);
    // a missing key: the place of the object that lacks it
    expectConfigInvalid(
      () => loadConfig({ PRISM_HOME: home('{"backup": {\n  "databases": [\n    {"name": "app", "url": "postgres://db/app"}]}}') }),
      'line 3, column 5: backup.databases.0.type = (missing)',
    );
  });

  it('a file that is not an object is rejected', () => {
    expectConfigInvalid(() => loadConfig({ PRISM_HOME: home('null') }), '(root)', 'null', 'an object');
    expectConfigInvalid(() => loadConfig({ PRISM_HOME: home('"backup"') }), '(root)', '"backup"');
    expectConfigInvalid(() => loadConfig({ PRISM_HOME: home('42') }), '(root)', '42');
    expectConfigInvalid(() => loadConfig({ PRISM_HOME: home({ backup: null }) }), 'backup', 'null');
    expectConfigInvalid(() => loadConfig({ PRISM_HOME: home({ backup: 5 }) }), 'backup', '5');
  });

  it('relative paths in sources must stay inside PRISM_HOME', () => {
    expectConfigInvalid(() => loadConfig({ PRISM_HOME: home({ backup: { sources: { include: ['../etc'] } } }) }), 'backup.sources.include', '../etc');
    expectConfigInvalid(() => loadConfig({ PRISM_HOME: home({ backup: { sources: { include: ['/etc'] } } }) }), 'backup.sources.include', '/etc');
    expectConfigInvalid(() => loadConfig({ PRISM_HOME: home({ backup: { sources: { include: [] } } }) }), 'backup.sources.include');
    for (const reserved of ['.prism-restore.journal', '.prism-restore-old-x/sub', './.prism-restore-staging']) {
      expectConfigInvalid(
        () => loadConfig({ PRISM_HOME: home({ backup: { sources: { include: ['level-1-hot', reserved] } } }) }),
        'backup.sources.include',
        'prism-restore',
      );
    }
    const ok = loadConfig({ PRISM_HOME: home({ backup: { sources: { include: ['level-1-hot', 'data/sub'] } } }) });
    assert.deepEqual(ok.backup.sources.include, ['level-1-hot', 'data/sub']);
  });

  it('an unreadable config file is CONFIG_INVALID', () => {
    const h = home();
    fs.mkdirSync(path.join(h, 'config', 'backup.json'), { recursive: true }); // a directory, not a file
    expectConfigInvalid(() => loadConfig({ PRISM_HOME: h }), 'Cannot read', 'backup.json');
  });
});
