/**
 * Connections a command opened that would keep the process alive once it is done (an SSH
 * session to an SFTP server, keep-alive sockets to an object store): each is registered here
 * when opened, and the CLI closes them all when the command ends, whatever its outcome.
 */
const open = new Set<() => Promise<void>>();

/** Registers a close function; returns a function that forgets it (after the owner closed it itself). */
export function registerConnection(close: () => Promise<void>): () => void {
  open.add(close);
  return () => open.delete(close);
}

/** Closes every registered connection (errors are ignored: the command's own outcome stands). */
export async function closeConnections(): Promise<void> {
  const all = [...open];
  open.clear();
  await Promise.all(all.map((c) => c().catch(() => undefined)));
}
