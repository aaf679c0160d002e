import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempRootForFile } from '../../testing/fixtures.js';
import { readDrills, recordDrill } from '../integrity/drill-history.js';
import { readTasks, recordTask, taskLogFile, type TaskRecord } from './task-log.js';

const tempRoot = tempRootForFile();

function task(job: string, started: string, status: TaskRecord['status'] = 'ok'): TaskRecord {
  return { job, trigger: 'scheduled', started_at: started, finished_at: started, status };
}

describe('task log', () => {
  it('appends records and reads them back oldest first, filtered by start time', () => {
    const home = join(tempRoot(), 'home');
    mkdirSync(home);
    recordTask(home, task('full_backup', '2026-02-01T02:00:00.000Z'));
    recordTask(home, { ...task('cleanup', '2026-02-08T04:00:00.000Z', 'failed'), error_code: 'ERR_PRISM_LOCKED', message: 'locked' });
    assert.deepEqual(
      readTasks(home).map((t) => t.job),
      ['full_backup', 'cleanup'],
    );
    const recent = readTasks(home, new Date('2026-02-05T00:00:00Z'));
    assert.equal(recent.length, 1);
    assert.equal(recent[0]!.error_code, 'ERR_PRISM_LOCKED');
  });

  it('skips a line torn by a crash and writes nothing while PRISM_HOME is missing', () => {
    const home = join(tempRoot(), 'torn');
    mkdirSync(home);
    recordTask(home, task('verify', '2026-02-01T04:30:00.000Z'));
    appendFileSync(taskLogFile(home), '{"job":"drill","trig');
    assert.deepEqual(
      readTasks(home).map((t) => t.job),
      ['verify'],
    );
    const missing = join(tempRoot(), 'no-such-home');
    recordTask(missing, task('verify', '2026-02-01T04:30:00.000Z'));
    recordDrill(missing, {
      time: '2026-02-01T05:00:00.000Z',
      backup_id: null,
      trigger: 'manual',
      status: 'failed',
      rto_seconds: 0,
      target_seconds: 10,
      within_target: false,
      files_checked: 0,
    });
    assert.deepEqual(readTasks(missing), []);
    assert.deepEqual(readDrills(missing), []);
  });
});
