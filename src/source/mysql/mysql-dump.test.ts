import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import type { DumpObjectWriter, DumpedTable } from '../db/db-dump.js';
import { countTuples, splitMysqlDump } from './mysql-dump.js';

function collector(into: Map<string, string>, name: string): DumpObjectWriter {
  let text = '';
  return {
    write: async (d) => void (text += Buffer.from(d).toString('utf8')),
    close: async () => {
      into.set(name, text);
      return { bytes: Buffer.byteLength(text), checksum: createHash('sha256').update(text).digest('hex') };
    },
  };
}

describe('splitMysqlDump / countTuples', () => {
  it('counts row tuples, not parentheses or quotes inside strings', () => {
    const l = Buffer.from(`INSERT INTO \`t\` VALUES (1,'a(b),(c)',NULL),(2,'it\\'s \\\\',0x00FF),(3,"x"")(",'');\n`);
    assert.equal(countTuples(l, l.indexOf(' VALUES') + 7), 3);
    assert.equal(countTuples(Buffer.from(`(4,'(('),\n`), 0), 1);
  });

  it('splits tables (one or many lines per INSERT) from the schema, keeping DELIMITER blocks in the schema', async () => {
    const dump = [
      'DROP TABLE IF EXISTS `a`;',
      'CREATE TABLE `a` (',
      '  `id` int',
      ');',
      'INSERT INTO `a` VALUES',
      "(1,'x'),",
      "(2,'INSERT INTO `b` VALUES (9);'),",
      '(3,NULL);',
      'CREATE TABLE `we``ird` (`x` int);',
      'INSERT INTO `we``ird` VALUES (1),(2);',
      'DELIMITER ;;',
      'CREATE TRIGGER tr BEFORE INSERT ON a FOR EACH ROW BEGIN',
      'INSERT INTO `a` VALUES (99);',
      'END ;;',
      'DELIMITER ;',
      '',
    ].join('\n');
    // delivered in awkward pieces: lines are reassembled across chunks
    const pieces = dump.match(/[\s\S]{1,7}/g)!.map((p) => Buffer.from(p));
    const objects = new Map<string, string>();
    const tables: DumpedTable[] = [];
    const schema = collector(objects, 'schema');
    await splitMysqlDump(
      Readable.from(pieces),
      schema,
      (n) => collector(objects, n),
      (t) => tables.push(t),
    );
    await schema.close();
    assert.deepEqual(
      tables.map((t) => [t.name, t.rows]),
      [
        ['a', 3],
        ['we`ird', 2],
      ],
    );
    assert.equal(objects.get('a'), "INSERT INTO `a` VALUES\n(1,'x'),\n(2,'INSERT INTO `b` VALUES (9);'),\n(3,NULL);\n");
    assert.match(objects.get('schema')!, /CREATE TRIGGER[\s\S]*INSERT INTO `a` VALUES \(99\);[\s\S]*DELIMITER ;/);
    assert.ok(!objects.get('schema')!.includes("(1,'x')"));
  });
});
