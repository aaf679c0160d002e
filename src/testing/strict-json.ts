/**
 * JSON.parse that also refuses a key written twice in one object (JSON.parse keeps the last one
 * silently): for checking what prism writes, from the raw text.
 */
export function parseStrictJson(text: string): unknown {
  const value = JSON.parse(text) as unknown; // the syntax, with JSON.parse's own messages
  let i = 0;
  const ws = (): void => {
    while (/\s/.test(text[i] ?? '')) i++;
  };
  const str = (): string => {
    const start = i++;
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const val = (path: string): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const seen = new Set<string>();
      ws();
      while (text[i] !== '}') {
        ws();
        const key = str();
        if (seen.has(key)) throw new Error(`key "${key}" twice in ${path || 'the top-level object'}: ${text}`);
        seen.add(key);
        ws();
        i++; // :
        val(`${path}.${key}`);
        ws();
        if (text[i] === ',') i++;
        ws();
      }
      i++;
    } else if (c === '[') {
      i++;
      ws();
      let n = 0;
      while (text[i] !== ']') {
        val(`${path}[${n++}]`);
        ws();
        if (text[i] === ',') i++;
        ws();
      }
      i++;
    } else if (c === '"') {
      str();
    } else {
      while (i < text.length && !/[\s,\]}]/.test(text[i]!)) i++;
    }
  };
  val('');
  return value;
}
