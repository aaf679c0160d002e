import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { isPrismError } from '../../errors/index.js';
import { exportJson, exportPaper, parseExport } from './export-format.js';

const key = { repository: randomBytes(16).toString('hex'), generation: 3, master: randomBytes(64) };

function fails(text: string, pattern: RegExp): void {
  assert.throws(
    () => parseExport(text, 'k.txt'),
    (e) => isPrismError(e) && e.code === 'KEY_FILE_INVALID' && pattern.test(e.message),
  );
}

describe('key export forms', () => {
  it('JSON and paper read back to the same key; the paper form has 7 key lines with checksums', () => {
    assert.deepEqual(parseExport(exportJson(key), 'k.json'), key);
    const paper = exportPaper(key);
    assert.deepEqual(parseExport(paper, 'k.txt'), key);
    assert.equal(paper.split('\n').filter((l) => /^ ?\d: /.test(l)).length, 7);
    // typed back loosely: upper case, other spacing, no comments, CRLF
    const retyped = paper
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .map((l) => l.toUpperCase().replace(/ /g, '  '))
      .join('\r\n');
    assert.deepEqual(parseExport(retyped, 'k.txt'), key);
  });

  it('a typo is found on its line; swapped, missing and cut lines are refused', () => {
    const lines = exportPaper(key).split('\n');
    const at = lines.findIndex((l) => l.startsWith(' 4: '));
    const typo = [...lines];
    const c = typo[at]![5] === '0' ? '1' : '0';
    typo[at] = typo[at]!.slice(0, 5) + c + typo[at]!.slice(6);
    fails(typo.join('\n'), new RegExp(`line ${at + 1}: key line 4 does not match its checksum`));

    const swapped = [...lines];
    [swapped[at], swapped[at + 1]] = [swapped[at + 1]!, swapped[at]!];
    fails(swapped.join('\n'), new RegExp(`line ${at + 1}: key line 5 where key line 4 was expected`));
    // renumbered to hide the swap: the checksums still catch it (the line number is part of each)
    const renumbered = [...swapped];
    renumbered[at] = renumbered[at]!.replace(' 5: ', ' 4: ');
    fails(renumbered.join('\n'), new RegExp(`line ${at + 1}: key line 4 does not match`));

    fails(lines.filter((_, i) => i !== at + 3).join('\n'), /6 key line\(s\), a paper key has 7/);
    const short = [...lines];
    short[at] = short[at]!.replace(/ [0-9a-f]{4} - /, ' - ');
    fails(short.join('\n'), new RegExp(`line ${at + 1}: key line 4 has 20 hex digits`));
    const header = lines.findIndex((l) => l.startsWith('repository '));
    const renamed = [...lines];
    renamed[header] = `repository ${'0'.repeat(32)} generation 3`;
    fails(renamed.join('\n'), new RegExp(`line ${header + 1} names repository 0{32}`));
    fails('hello\n', /line 1: "prism paper key v1" was expected/);
  });

  it('the JSON form is read strictly', () => {
    const good = JSON.parse(exportJson(key)) as Record<string, unknown>;
    fails(exportJson(key).slice(0, 60), /not valid JSON/);
    fails(JSON.stringify({ ...good, extra: 1 }), /fields a key export does not have \(extra\)/);
    fails(JSON.stringify({ ...good, format: 'other' }), /format/);
    fails(JSON.stringify({ ...good, version: 2 }), /version 2/);
    fails(JSON.stringify({ ...good, generation: 0 }), /generation/);
    fails(JSON.stringify({ ...good, repository: 'x' }), /repository id/);
    fails(JSON.stringify({ ...good, master_key: key.master.subarray(0, 48).toString('base64') }), /holds 48 bytes, not 64/);
  });
});
