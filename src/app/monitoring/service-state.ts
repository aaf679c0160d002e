import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The pid file the prism service (daemon) keeps in PRISM_HOME: the pid as text. */
export function pidFile(home: string): string {
  return join(home, 'prism.pid');
}

/** The pid written in the data directory's pid file, if it holds one. */
export function pidInFile(home: string): number | undefined {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(pidFile(home), 'utf8').trim(), 10);
  } catch {
    return undefined;
  }
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Whether a process with this pid exists (a zombie, which has exited but not been reaped, does not count). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state …"; the comm may hold spaces and parentheses
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc: kill(0) has answered
  }
}

/** The pid of a live process named by the data directory's pid file, if any. */
export function runningServicePid(home: string): number | undefined {
  const pid = pidInFile(home);
  return pid !== undefined && processAlive(pid) ? pid : undefined;
}
