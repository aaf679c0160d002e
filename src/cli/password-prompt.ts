import { PrismError } from '../errors/index.js';

/** The terminal the password is typed on: stdin in raw mode (no echo, no line editing by the terminal). */
export interface PromptInput extends NodeJS.ReadableStream {
  readonly isTTY?: boolean;
  readonly isRaw?: boolean;
  setRawMode?(mode: boolean): unknown;
}

export interface PromptOptions {
  /** Ask twice and refuse a mismatch (a new password). */
  confirm?: boolean;
  input?: PromptInput;
  output?: NodeJS.WritableStream;
}

/**
 * Asks for a password on the terminal: the question on stderr, the keys read from stdin in raw mode
 * so that nothing typed is echoed (node:readline cannot hide its echo reliably). Backspace deletes
 * the last character, Ctrl-U the whole line; Enter ends. Ctrl-C is INTERRUPTED; Ctrl-D or Enter on
 * nothing is PASSWORD_SOURCE "no password typed".
 */
export async function promptPassword(question: string, opts: PromptOptions = {}): Promise<Buffer> {
  const input = opts.input ?? (process.stdin as PromptInput);
  const output = opts.output ?? process.stderr;
  const first = await askOnce(question, input, output);
  if (!opts.confirm) return first;
  const second = await askOnce('Enter the same password again: ', input, output);
  const same = first.equals(second);
  second.fill(0);
  if (!same) {
    first.fill(0);
    throw new PrismError('PASSWORD_SOURCE', 'The two passwords typed differ; nothing was changed. Run the command again.', { source: 'terminal prompt' });
  }
  return first;
}

function askOnce(question: string, input: PromptInput, output: NodeJS.WritableStream): Promise<Buffer> {
  if (!input.isTTY || !input.setRawMode) {
    return Promise.reject(new PrismError('PASSWORD_SOURCE', 'There is no terminal to ask for the password on.', { source: 'terminal prompt' }));
  }
  const setRawMode = input.setRawMode.bind(input);
  const wasRaw = input.isRaw === true;
  output.write(question);
  return new Promise((resolve, reject) => {
    let typed: number[] = [];
    const done = (e: PrismError | undefined): void => {
      input.removeListener('data', onData);
      input.removeListener('end', onEnd);
      setRawMode(wasRaw);
      input.pause();
      output.write('\n');
      const password = Buffer.from(typed);
      typed.fill(0);
      if (e) {
        password.fill(0);
        reject(e);
      } else resolve(password);
    };
    const noPassword = (): PrismError => new PrismError('PASSWORD_SOURCE', 'No password typed.', { source: 'terminal prompt' });
    const onEnd = (): void => done(noPassword());
    const onData = (chunk: Buffer | string): void => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      for (const b of bytes) {
        if (b === 0x03) return done(new PrismError('INTERRUPTED', 'Interrupted while asking for the password (Ctrl-C).'));
        if (b === 0x0d || b === 0x0a || b === 0x04) return done(typed.length === 0 ? noPassword() : undefined);
        if (b === 0x7f || b === 0x08) typed = withoutLastCharacter(typed);
        else if (b === 0x15) {
          typed.fill(0);
          typed = [];
        } else if (b === 0x1b)
          break; // an escape sequence (arrow keys …): the rest of this chunk
        else if (b >= 0x20) typed.push(b);
      }
    };
    input.on('data', onData);
    input.on('end', onEnd);
    setRawMode(true);
    input.resume();
  });
}

/** Drops the last UTF-8 character (its continuation bytes 10xxxxxx and its lead byte). */
function withoutLastCharacter(bytes: number[]): number[] {
  let n = bytes.length;
  while (n > 0 && (bytes[n - 1]! & 0xc0) === 0x80) n--;
  const kept = bytes.slice(0, Math.max(0, n - 1));
  bytes.fill(0);
  return kept;
}
