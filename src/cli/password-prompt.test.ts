import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { PrismError } from '../errors/index.js';
import { promptPassword, type PromptInput } from './password-prompt.js';

/** A terminal for the prompt: keys are written into `keys`; `shown` is everything written to the screen; `modes` the raw-mode switches. */
function fakeTerminal(opts: { tty?: boolean } = {}) {
  const input = new PassThrough() as PassThrough & { isTTY: boolean; isRaw: boolean; setRawMode(mode: boolean): void };
  const modes: boolean[] = [];
  input.isTTY = opts.tty ?? true;
  input.isRaw = false;
  input.setRawMode = (mode: boolean) => {
    modes.push(mode);
    input.isRaw = mode;
  };
  const output = new PassThrough();
  let shown = '';
  output.on('data', (c: Buffer) => (shown += c.toString()));
  /** Types each string as its own chunk once the prompt listens (a key at a time, as a terminal in raw mode sends them). */
  const type = (...keys: string[]) => {
    let i = 0;
    const next = () => {
      if (i < keys.length) input.write(keys[i++]!, () => setImmediate(next));
    };
    setImmediate(next);
  };
  return { input: input as PromptInput, output, modes, type, shown: () => shown };
}

async function rejection(p: Promise<unknown>, code: string, fragment: string): Promise<void> {
  const e = await p.then(
    () => assert.fail('expected a rejection'),
    (err: unknown) => err,
  );
  assert.ok(e instanceof PrismError, String(e));
  assert.equal(e.code, code);
  assert.match(e.message, new RegExp(fragment));
}

describe('password prompt', () => {
  it('asks on the output, echoes nothing of what is typed, and turns raw mode off again', async () => {
    const t = fakeTerminal();
    t.type('hun', 'ter', '2\r');
    const pw = await promptPassword('Password for the repository at /srv/r: ', { input: t.input, output: t.output });
    assert.equal(pw.toString(), 'hunter2');
    assert.equal(t.shown(), 'Password for the repository at /srv/r: \n');
    assert.deepEqual(t.modes, [true, false]);
  });

  it('backspace deletes the last character (a whole UTF-8 character), Ctrl-U the line, escape sequences are ignored', async () => {
    const t = fakeTerminal();
    t.type('sec', '\x7f', 'r\x08', 'é', '\x7f', 't', '\x1b[D', '!\n');
    assert.equal((await promptPassword('Password: ', { input: t.input, output: t.output })).toString(), 'set!');
    const u = fakeTerminal();
    u.type('wrong', '\x15', 'right\r');
    assert.equal((await promptPassword('Password: ', { input: u.input, output: u.output })).toString(), 'right');
    assert.doesNotMatch(t.shown() + u.shown(), /sec|set|wrong|right/);
  });

  it('Ctrl-C is INTERRUPTED, with raw mode off again', async () => {
    const t = fakeTerminal();
    t.type('half', '\x03');
    await rejection(promptPassword('Password: ', { input: t.input, output: t.output }), 'INTERRUPTED', 'Ctrl-C');
    assert.deepEqual(t.modes, [true, false]);
    assert.doesNotMatch(t.shown(), /half/);
  });

  it('Enter or Ctrl-D on nothing is PASSWORD_SOURCE "no password typed"', async () => {
    const a = fakeTerminal();
    a.type('\r');
    await rejection(promptPassword('Password: ', { input: a.input, output: a.output }), 'PASSWORD_SOURCE', 'No password typed');
    const b = fakeTerminal();
    b.type('\x04');
    await rejection(promptPassword('Password: ', { input: b.input, output: b.output }), 'PASSWORD_SOURCE', 'No password typed');
    const c = fakeTerminal();
    c.type('x', '\x7f', '\r');
    await rejection(promptPassword('Password: ', { input: c.input, output: c.output }), 'PASSWORD_SOURCE', 'No password typed');
  });

  it('confirm asks twice and returns the password when both agree', async () => {
    const t = fakeTerminal();
    t.type('new-pw\r', 'new-pw\r');
    assert.equal((await promptPassword('New password: ', { confirm: true, input: t.input, output: t.output })).toString(), 'new-pw');
    assert.equal(t.shown(), 'New password: \nEnter the same password again: \n');
  });

  it('confirm refuses two different passwords, without showing either', async () => {
    const t = fakeTerminal();
    t.type('first-S3CRET\r', 'second-S3CRET\r');
    const p = promptPassword('New password: ', { confirm: true, input: t.input, output: t.output });
    await rejection(p, 'PASSWORD_SOURCE', 'differ');
    const e = await p.catch((err: PrismError) => err);
    assert.doesNotMatch(JSON.stringify(e.toJSON()), /S3CRET/);
    assert.doesNotMatch(t.shown(), /S3CRET/);
  });

  it('without a terminal it asks nothing: PASSWORD_SOURCE', async () => {
    const t = fakeTerminal({ tty: false });
    await rejection(promptPassword('Password: ', { input: t.input, output: t.output }), 'PASSWORD_SOURCE', 'no terminal');
    assert.equal(t.shown(), '');
    assert.deepEqual(t.modes, []);
  });
});
