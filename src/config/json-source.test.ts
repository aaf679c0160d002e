import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { prng } from '../testing/fixtures.js';
import { jsonKeyPlaces, jsonSyntaxProblem, placeOf } from './json-source.js';

const CONFIG = `{
  "backup": {
    "storage_path": "/srv/backups",
    "schedule": { "full_backup": "0 2 * * 0", "cleanup": "0 4 * * 0" },
    "databases": [
      { "name": "app", "type": "postgres", "url": "postgres://u@db/app" },
      { "name": "shop", "type": "mysql", "url": "mysql://root@db/shop", "tables": ["a\\"b", "c\\u00e9"] }
    ],
    "compression": { "level": -1.5e3, "enabled": true, "x": null }
  }
}
`;

describe('json-source: syntax errors by line, column and key', () => {
  it('names where a broken config goes wrong', () => {
    const cases: Array<[string, number, number, string, RegExp]> = [
      ['{"backup": {"storage_path": 3,}}', 1, 31, 'backup', /a comma before "}"/],
      [
        '{\n  "backup": {\n    "schedule": {\n      "full_backup": "0 2 * * 0"\n      "cleanup": "x"\n',
        5,
        7,
        'backup.schedule.full_backup',
        /expected "," or "}" after the value, found '"' \(a missing comma\?\)/,
      ],
      ['{"backup": {"enabled": tru}}', 1, 24, 'backup.enabled', /expected a value .* found 't'/],
      ['{"backup": {"databases": [{"name": "x"} {"name": "y"}]}}', 1, 41, 'backup.databases.0', /expected "," or "]"/],
      ['{"backup": {"storage_path": "a\\q"}}', 1, 31, 'backup.storage_path', /invalid escape/],
      ['{"backup":\n "x\ny"}', 2, 4, 'backup', /character U\+000a inside a string/],
      ['{"backup": {"storage_path": "/srv', 1, 29, 'backup.storage_path', /a string that is not closed/],
      ['{"backup": ', 1, 12, 'backup', /found the end of the file/],
      ['{} x', 1, 4, '', /'x' after the end of the JSON value/],
      ['', 1, 1, '', /found the end of the file/],
    ];
    for (const [text, line, column, key, message] of cases) {
      assert.throws(() => JSON.parse(text));
      const p = jsonSyntaxProblem(text);
      assert.ok(p, text);
      assert.deepEqual([p.line, p.column, p.key], [line, column, key], text);
      assert.match(p.message, message, text);
    }
  });

  it('agrees with JSON.parse on what is valid, on thousands of damaged configs', () => {
    const rnd = prng(16);
    const alphabet = '{}[]:,"\\ \n0-.eE1tfnu';
    assert.equal(jsonSyntaxProblem(CONFIG), undefined);
    for (let n = 0; n < 5000; n++) {
      const chars = [...CONFIG];
      for (let k = 1 + Math.floor(rnd() * 2); k > 0; k--) {
        const at = Math.floor(rnd() * chars.length);
        const op = rnd();
        if (op < 0.4) chars.splice(at, 1);
        else if (op < 0.7) chars.splice(at, 0, alphabet[Math.floor(rnd() * alphabet.length)]!);
        else chars[at] = alphabet[Math.floor(rnd() * alphabet.length)]!;
      }
      const text = chars.join('');
      let valid = true;
      try {
        JSON.parse(text);
      } catch {
        valid = false;
      }
      const p = jsonSyntaxProblem(text);
      assert.equal(p === undefined, valid, `${JSON.stringify(text)}: ${p?.message}`);
      if (p) assert.ok(p.line >= 1 && p.column >= 1 && p.line <= text.split('\n').length, JSON.stringify(p));
    }
  });

  it('places every key of a valid text', () => {
    const places = jsonKeyPlaces(CONFIG);
    assert.deepEqual(places.get('backup.storage_path'), { line: 3, column: 5 });
    assert.deepEqual(places.get('backup.schedule.cleanup'), { line: 4, column: 47 });
    assert.deepEqual(places.get('backup.databases.1'), { line: 7, column: 7 });
    assert.deepEqual(places.get('backup.databases.1.tables.1'), { line: 7, column: 92 });
    assert.deepEqual(places.get('backup.compression.x'), { line: 9, column: 56 });
    assert.deepEqual(placeOf('a\nbc\n', 4), { line: 2, column: 3 });
  });
});
