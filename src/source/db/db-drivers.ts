/**
 * The database drivers, loaded on first use: together they take ~250 ms to load, and most
 * prism commands (every file backup, list, restore) never talk to a database.
 */
export async function pgDriver(): Promise<typeof import('pg').default> {
  return (await import('pg')).default;
}

export async function pgCopyStreams(): Promise<typeof import('pg-copy-streams')> {
  const m = await import('pg-copy-streams');
  // a CommonJS module: Node gives it named exports, a bundle only its default export
  return ((m as unknown as { default?: typeof m }).default ?? m) as typeof m;
}

export async function mysqlDriver(): Promise<typeof import('mysql2/promise')> {
  const m = await import('mysql2/promise');
  // a CommonJS module: its functions sit on the default export
  return ((m as unknown as { default?: typeof m }).default ?? m) as typeof m;
}
