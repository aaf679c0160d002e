import { StoreError } from '../store-error.js';
import { checkHostKey, fingerprint, hostField, keyTypeOf, type KnownHostEntry } from './known-hosts.js';

/**
 * The verdict on a server's host key as an error, or undefined when known_hosts lists it:
 * never accepted when unknown (no trust on first use: a backup repository is worth a manual
 * check), refused with both fingerprints when it differs from the one pinned.
 */
export function hostKeyRefusal(
  entries: readonly KnownHostEntry[],
  files: readonly string[],
  host: string,
  port: number,
  offered: Buffer,
  store: string,
): StoreError | undefined {
  const verdict = checkHostKey(entries, host, port, offered);
  const where = `${host}:${port}`;
  const offeredFp = `${keyTypeOf(offered) ?? 'unknown type'} ${fingerprint(offered)}`;
  switch (verdict.result) {
    case 'known':
      return undefined;
    case 'unknown':
      return new StoreError(
        'permanent',
        store,
        `host key of ${where} is not in ${files.join(' or ')}; its SHA256 fingerprint is ${fingerprint(offered)} (${keyTypeOf(offered)}); ` +
          `check it (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub on the server) and add it with ssh-keyscan -p ${port} ${host} >> ${files[0]}`,
      );
    case 'mismatch': {
      const expected = verdict.expected.map((e) => `${e.keyType} ${fingerprint(e.key)} (${e.source})`).join(', ');
      const file = verdict.expected[0]!.source.replace(/:\d+$/, '');
      return new StoreError(
        'permanent',
        store,
        `the host key of ${where} does not match known_hosts — possible man-in-the-middle: the server offered ${offeredFp}, known_hosts expects ${expected}; ` +
          `if the server's key was changed on purpose, remove the old entry (ssh-keygen -R '${hostField(host, port)}' -f ${file}) and add the new one once checked`,
      );
    }
    case 'revoked':
      return new StoreError(
        'permanent',
        store,
        `the host key of ${where} (${offeredFp}) is marked @revoked in ${verdict.entry.source}: the server needs a new host key`,
      );
  }
}
