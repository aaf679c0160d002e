/** `prism ui` as a process on a free loopback port, for the dashboard's end-to-end tests. */
import { spawn } from 'node:child_process';
import { PRISM_BIN } from './fixtures.js';

export interface RunningUi {
  /** `http://127.0.0.1:PORT/` */
  url: string;
  /** The sign-in link: url with `#token=…`. */
  loginUrl: string;
  stop(): Promise<void>;
}

/** Starts `prism ui --listen 127.0.0.1:0 --json` and waits for the address it prints. */
export function startUi(env: Record<string, string>, extraArgs: string[] = []): Promise<RunningUi> {
  const child = spawn(process.execPath, [PRISM_BIN, 'ui', '--listen', '127.0.0.1:0', '--json', ...extraArgs], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGINT');
    await exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`prism ui printed no address in 30 s:\n${out}\n${err}`));
    }, 30_000);
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.stdout.on('data', (d: Buffer) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (!line || !out.includes('\n')) return;
      clearTimeout(timer);
      const started = JSON.parse(line) as { url: string; login_url: string };
      resolve({ url: started.url, loginUrl: started.login_url, stop });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`prism ui exited (${code}) before serving:\n${out}\n${err}`));
    });
  });
}
