import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** A self-signed certificate for 127.0.0.1/localhost made with openssl; `certFile` is the CA a client trusts. */
export function selfSignedCert(): { key: Buffer; cert: Buffer; certFile: string; dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'prism-smtp-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  return {
    key: readFileSync(join(dir, 'key.pem')),
    cert: readFileSync(join(dir, 'cert.pem')),
    certFile: join(dir, 'cert.pem'),
    dir,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * A real SMTP server on 127.0.0.1 (smtp-server): STARTTLS with the given certificate, AUTH
 * PLAIN/LOGIN against `user`/`password` (or refusing every login), keeping each mail parsed.
 */
export class TestSmtpServer {
  readonly mails: ParsedMail[] = [];
  readonly logins: string[] = [];
  port = 0;
  private server: SMTPServer;
  constructor(o: { key: Buffer; cert: Buffer; user: string; password: string; refuseAuth?: boolean }) {
    this.server = new SMTPServer({
      key: o.key,
      cert: o.cert,
      authMethods: ['PLAIN', 'LOGIN'],
      // AUTH only after STARTTLS (the default)
      logger: false,
      onAuth: (auth, _session, cb) => {
        this.logins.push(auth.username ?? '');
        if (o.refuseAuth || auth.username !== o.user || auth.password !== o.password) return cb(new Error('Authentication failed'));
        cb(null, { user: auth.username });
      },
      onData: (stream, _session, cb) => {
        simpleParser(stream)
          .then((mail) => {
            this.mails.push(mail);
            cb();
          })
          .catch((e: Error) => cb(e));
      },
    });
    this.server.on('error', () => {});
  }
  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = ((this.server as unknown as { server: { address(): AddressInfo } }).server.address() as AddressInfo).port;
  }
  stop(): Promise<void> {
    return new Promise<void>((r) => this.server.close(() => r()));
  }
}
