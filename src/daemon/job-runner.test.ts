import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readTasks } from '../app/index.js';
import { systemClock } from '../core/clock.js';
import { silentLogger } from '../core/logger.js';
import { appContext, sandbox } from '../testing/fixtures.js';
import type { Job } from './job.js';
import { runJob } from './job-runner.js';

const sb = sandbox();
after(() => sb.cleanup());

describe('job runner: the task record of a failed job', () => {
  it('a system error on a path is recorded by its code and meaning, not as a bug in prism', async () => {
    const file = join(sb.root, 'a-file');
    writeFileSync(file, 'x');
    const job: Job = { name: 'full_backup', schedule: 'full_backup', run: async () => ({ message: readFileSync(join(file, 'state.json'), 'utf8') }) };
    const { task } = await runJob(appContext(sb, {}, systemClock), job, { trigger: 'scheduled', signal: new AbortController().signal, log: silentLogger });
    assert.deepEqual([task.status, task.error_code], ['failed', 'ERR_PRISM_PATH']);
    assert.match(task.message!, new RegExp(`${file} is a file, not a directory`));
    assert.deepEqual(
      readTasks(sb.home).map((t) => t.error_code),
      ['ERR_PRISM_PATH'],
    );
  });
});
