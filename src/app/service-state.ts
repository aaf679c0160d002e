import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The pid file the prism service (daemon) keeps in PRISM_HOME. */
export function pidFile(home: string): string {
  return join(home, 'prism.pid');
}

/** The pid of a live process named by the data directory's pid file, if any. */
export function runningServicePid(home: string): number | undefined {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(pidFile(home), 'utf8').trim(), 10);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined;
  }
}
