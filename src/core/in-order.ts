/**
 * `fetch` for every item with at most `limit` calls running at once, the results in the items'
 * order: reads of many small objects from a remote store (index files, manifests) overlap their
 * round trips instead of waiting for each in turn. The first failure rejects.
 */
export async function fetchInOrder<T, R>(items: readonly T[], limit: number, fetch: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const run = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fetch(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
  return out;
}
