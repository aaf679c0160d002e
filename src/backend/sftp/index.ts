import { stallMilliseconds } from '../stall-setting.js';
import type { Backend } from '../backend.js';
import { displayLocation, type Location } from '../location.js';
import { SftpBackend } from './sftp-backend.js';
import { knownHostsFiles, readKnownHosts, sftpAuth, sftpUser } from './sftp-options.js';

export { SftpBackend } from './sftp-backend.js';

/** The SFTP backend of a parsed `sftp:` location; credentials and known_hosts come from the environment (read at the first call). */
export function openSftpBackend(loc: Location, env: NodeJS.ProcessEnv): Backend {
  if (loc.kind !== 'sftp') throw new Error(`openSftpBackend: not an sftp location (${loc.kind})`);
  const user = sftpUser(loc.user, env);
  const location = displayLocation({ ...loc, user });
  return new SftpBackend({
    location,
    root: loc.path,
    host: loc.host,
    port: loc.port,
    user,
    stallSeconds: stallMilliseconds(env) / 1000,
    auth: () => sftpAuth(env, location),
    knownHosts: () => {
      const files = knownHostsFiles(env);
      return { files, entries: readKnownHosts(files, env, location) };
    },
  });
}
