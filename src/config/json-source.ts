/** Where things are in a JSON text: the first syntax error, and the keys, as line and column for messages. */

export interface SourcePlace {
  /** 1-based. */
  readonly line: number;
  /** 1-based, in characters. */
  readonly column: number;
}

export interface JsonSyntaxProblem extends SourcePlace {
  /** What is wrong there, e.g. `expected a key in double quotes, found "}"`. */
  readonly message: string;
  /** The key path being read where it went wrong (`backup.schedule`, `backup.databases.0`), '' at the top. */
  readonly key: string;
}

/** Line and column of a character offset. */
export function placeOf(text: string, offset: number): SourcePlace {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: offset - start + 1 };
}

/** The first syntax error of a JSON text, or undefined when it parses. */
export function jsonSyntaxProblem(text: string): JsonSyntaxProblem | undefined {
  const s = new Scanner(text);
  try {
    s.document();
    return undefined;
  } catch (e) {
    if (!(e instanceof SyntaxProblem)) throw e;
    return { ...placeOf(text, e.offset), message: e.message, key: e.path.join('.') };
  }
}

/**
 * The place of each key of a valid JSON text, by dotted path (array elements by index:
 * `backup.databases.0.url`); an array element's place is where its value starts.
 */
export function jsonKeyPlaces(text: string): Map<string, SourcePlace> {
  const s = new Scanner(text);
  try {
    s.document();
  } catch (e) {
    if (!(e instanceof SyntaxProblem)) throw e;
  }
  return new Map([...s.keys].map(([k, offset]) => [k, placeOf(text, offset)]));
}

/** The place of the deepest key of `path` that the text holds (the file's start when none). */
export function placeOfKey(places: ReadonlyMap<string, SourcePlace>, path: readonly string[]): SourcePlace {
  for (let n = path.length; n > 0; n--) {
    const place = places.get(path.slice(0, n).join('.'));
    if (place) return place;
  }
  return { line: 1, column: 1 };
}

class SyntaxProblem extends Error {
  constructor(
    message: string,
    readonly offset: number,
    readonly path: readonly (string | number)[],
  ) {
    super(message);
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

class Scanner {
  private i = 0;
  private readonly path: (string | number)[] = [];
  readonly keys = new Map<string, number>();

  constructor(private readonly text: string) {
    if (text.startsWith('\uFEFF')) this.i = 1;
  }

  document(): void {
    this.value();
    this.space();
    if (this.i < this.text.length) this.fail(`${this.found()} after the end of the JSON value`);
  }

  private fail(message: string, at = this.i): never {
    throw new SyntaxProblem(message, at, [...this.path]);
  }

  private found(): string {
    const c = this.text[this.i];
    if (c === undefined) return 'the end of the file';
    return /[\x00-\x1f\x7f]/.test(c) ? `character U+${c.charCodeAt(0).toString(16).padStart(4, '0')}` : `'${c}'`;
  }

  private space(): void {
    while (this.i < this.text.length && ' \t\n\r'.includes(this.text[this.i]!)) this.i++;
  }

  private value(): void {
    this.space();
    const c = this.text[this.i];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return void this.string();
    for (const literal of ['true', 'false', 'null']) {
      if (this.text.startsWith(literal, this.i)) {
        this.i += literal.length;
        return;
      }
    }
    NUMBER.lastIndex = this.i;
    if (NUMBER.test(this.text)) {
      this.i = NUMBER.lastIndex;
      return;
    }
    this.fail(`expected a value (a string in double quotes, a number, true, false, null, an object or an array), found ${this.found()}`);
  }

  private object(): void {
    if (this.opened('}')) return;
    for (;;) {
      this.memberStart('}');
      if (this.text[this.i] !== '"') this.fail(`expected a key in double quotes, found ${this.found()}`);
      const at = this.i;
      this.path.push(this.string());
      this.keys.set(this.path.join('.'), at);
      this.space();
      if (this.text[this.i] !== ':') this.fail(`expected ":" after the key, found ${this.found()}`);
      this.i++;
      this.value();
      if (this.closed('}')) return;
    }
  }

  private array(): void {
    if (this.opened(']')) return;
    for (let index = 0; ; index++) {
      this.memberStart(']');
      this.path.push(index);
      this.keys.set(this.path.join('.'), this.i);
      this.value();
      if (this.closed(']')) return;
    }
  }

  /** Past the opening bracket; true when the object or array is empty (and its closing bracket passed too). */
  private opened(close: '}' | ']'): boolean {
    this.i++;
    this.space();
    if (this.text[this.i] !== close) return false;
    this.i++;
    return true;
  }

  /** Before a member: a closing bracket here follows a trailing comma. */
  private memberStart(close: '}' | ']'): void {
    this.space();
    if (this.text[this.i] === close) this.fail(`a comma before "${close}" (JSON allows no trailing comma)`);
  }

  /** After a member's value: past the comma, or past the closing bracket (true). */
  private closed(close: '}' | ']'): boolean {
    this.space();
    const c = this.text[this.i];
    if (c !== ',' && c !== close) this.fail(`expected "," or "${close}" after the value, found ${this.found()}${c === '"' ? ' (a missing comma?)' : ''}`);
    this.path.pop();
    this.i++;
    return c === close;
  }

  private string(): string {
    const start = this.i++;
    for (;;) {
      const c = this.text[this.i];
      if (c === undefined) this.fail('a string that is not closed (a missing ")', start);
      if (c === '"') break;
      if (c < ' ') this.fail(`${this.found()} inside a string (write a line break as \\n, a tab as \\t)`);
      if (c === '\\') {
        const e = this.text[this.i + 1];
        if (e === 'u' ? !/^[0-9a-fA-F]{4}$/.test(this.text.slice(this.i + 2, this.i + 6)) : !'"\\/bfnrt'.includes(e ?? 'x'))
          this.fail('an invalid escape in a string (a backslash is written \\\\)');
        this.i += e === 'u' ? 6 : 2;
        continue;
      }
      this.i++;
    }
    this.i++;
    return JSON.parse(this.text.slice(start, this.i)) as string;
  }
}
