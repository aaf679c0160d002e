/** The first five of `names`, comma-separated, with ", …" when there are more (for messages). */
export function listFirst(names: readonly string[]): string {
  return `${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''}`;
}
