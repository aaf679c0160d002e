/**
 * Where the password of an encrypted repository comes from. It is read only when a repository
 * turns out to be encrypted, and never written anywhere (config, logs, manifests, errors).
 */
export interface PasswordSource {
  /** The source, for messages (never the password): "PRISM_PASSWORD_FILE (/etc/prism/password)". */
  readonly origin: string;
  /**
   * The password's bytes (a file's or command's output without its final newline). `question` is
   * what a terminal prompt asks (e.g. "Password for the repository at /srv/backups: "); the other
   * sources ignore it. `confirm`: the password of a new repository or key: a terminal prompt asks
   * twice and refuses a mismatch. Each call returns a fresh copy, which the caller may zero.
   */
  read(question?: string, opts?: { confirm?: boolean }): Promise<Buffer>;
}
