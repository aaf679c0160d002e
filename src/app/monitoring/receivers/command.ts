import { spawn } from 'node:child_process';
import type { AlertPayload, DeliveryOutcome } from './message.js';

/** A command that runs longer is killed and counts as a failed delivery. */
const COMMAND_TIMEOUT_MS = 60_000;

/** Runs the command through /bin/sh with the payload on stdin and PRISM_ALERT_* in the environment; exit 0 is delivered. */
export function runAlertCommand(command: string, payload: AlertPayload): Promise<DeliveryOutcome> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], {
      stdio: ['pipe', 'ignore', 'pipe'],
      env: {
        ...process.env,
        PRISM_ALERT_SEVERITY: payload.alert.severity,
        PRISM_ALERT_KEY: payload.alert.key,
        PRISM_ALERT_RULE: payload.alert.rule,
        PRISM_ALERT_MESSAGE: payload.alert.message,
        PRISM_ALERT_STATE: payload.alert.state,
        PRISM_ALERT_NOTIFICATION: payload.notification,
      },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-500)));
    const timer = setTimeout(() => child.kill('SIGKILL'), COMMAND_TIMEOUT_MS);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ ok: false, attempts: 1, error: `command "${command}": ${e.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve({ ok: true, attempts: 1 });
      const how = signal ? `was killed (${signal}${signal === 'SIGKILL' ? `, over ${COMMAND_TIMEOUT_MS / 1000} s?` : ''})` : `exited ${code}`;
      resolve({ ok: false, attempts: 1, error: `command "${command}" ${how}${stderr.trim() ? `: ${stderr.trim()}` : ''}` });
    });
    // a command that does not read its stdin must not fail the delivery
    child.stdin.on('error', () => {});
    child.stdin.end(JSON.stringify(payload) + '\n');
  });
}
