import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { capturePosition, parseBinlogPositionLine } from './mysql-binlog-position.js';
import { BinlogScanner, binlogSequence, checkBinlogName, parseEventLine, stopDatetime } from './mysql-binlog.js';

/** A binary log file: the magic, then events with the given timestamps and sizes (header fields only). */
function binlogFile(events: Array<{ when: number; size: number }>): Buffer {
  const parts = [Buffer.from([0xfe, 0x62, 0x69, 0x6e])];
  let pos = 4;
  for (const e of events) {
    const ev = Buffer.alloc(e.size);
    ev.writeUInt32LE(e.when, 0);
    ev[4] = 2;
    ev.writeUInt32LE(1, 5);
    ev.writeUInt32LE(e.size, 9);
    pos += e.size;
    ev.writeUInt32LE(pos, 13);
    parts.push(ev);
  }
  return Buffer.concat(parts);
}

function scan(file: Buffer, chunk: number): BinlogScanner {
  const s = new BinlogScanner();
  for (let i = 0; i < file.length; i += chunk) s.update(file.subarray(i, i + chunk));
  return s;
}

describe('binary log files and positions', () => {
  it('walks event headers across any chunking and notes the first and last event times', () => {
    const file = binlogFile([
      { when: 1_796_161_427, size: 252 },
      { when: 1_796_161_427, size: 29 },
      { when: 1_796_161_436, size: 87 },
      { when: 1_796_161_454, size: 19 },
    ]);
    for (const chunk of [1, 3, 7, 19, 20, 64, file.length]) {
      const s = scan(file, chunk);
      assert.equal(s.problem(), undefined, `chunk ${chunk}`);
      assert.equal(s.events, 4);
      assert.equal(s.first, 1_796_161_427);
      assert.equal(s.last, 1_796_161_454);
    }
  });

  it('refuses a file cut inside an event, a bad size, or no magic', () => {
    const file = binlogFile([
      { when: 1, size: 100 },
      { when: 2, size: 50 },
    ]);
    assert.match(scan(file.subarray(0, file.length - 10), 16).problem()!, /ends at byte 144 inside an event/);
    const bad = Buffer.from(file);
    bad.writeUInt32LE(3, 4 + 9);
    assert.match(scan(bad, 16).problem()!, /claims 3 bytes/);
    assert.match(scan(Buffer.from('not a binlog at all'), 4).problem()!, /magic/);
    assert.match(scan(file.subarray(0, 4), 4).problem()!, /no events/);
  });

  it('reads the position comments of --master-data=2 (MariaDB and MySQL spellings) and keeps them out of the schema', async () => {
    assert.deepEqual(parseBinlogPositionLine("-- CHANGE MASTER TO MASTER_LOG_FILE='bin.000001', MASTER_LOG_POS=1230;\n"), {
      file: 'bin.000001',
      position: 1230,
    });
    assert.deepEqual(parseBinlogPositionLine("-- CHANGE REPLICATION SOURCE TO SOURCE_LOG_FILE='binlog.000007', SOURCE_LOG_POS=157;"), {
      file: 'binlog.000007',
      position: 157,
    });
    assert.deepEqual(parseBinlogPositionLine("-- SET GLOBAL gtid_slave_pos='0-1-6';\n"), { gtid: '0-1-6' });
    assert.equal(parseBinlogPositionLine('-- CHANGE MASTER TO MASTER_USE_GTID=slave_pos;\n'), undefined);
    assert.equal(parseBinlogPositionLine("INSERT INTO `t` VALUES ('-- CHANGE MASTER TO');\n"), undefined);
    const written: string[] = [];
    const c = capturePosition({ write: async (d) => void written.push(Buffer.from(d).toString()), close: async () => ({ bytes: 0, checksum: '' }) }, 'ROW');
    for (const l of [
      'CREATE TABLE `t` (x int);\n',
      "-- CHANGE MASTER TO MASTER_LOG_FILE='mysql-bin.000042', MASTER_LOG_POS=4711;\n",
      "-- SET GLOBAL gtid_slave_pos='0-1-9,1-2-3';\n",
      '-- a comment\n',
    ]) {
      await c.writer.write(Buffer.from(l));
    }
    assert.deepEqual(written, ['CREATE TABLE `t` (x int);\n', '-- a comment\n']);
    assert.deepEqual(c.position(), { file: 'mysql-bin.000042', position: 4711, gtid: '0-1-9,1-2-3', format: 'ROW' });
    assert.equal(capturePosition({ write: async () => {}, close: async () => ({ bytes: 0, checksum: '' }) }, undefined).position(), undefined);
  });

  it('reads event header lines before and after 10:00 (mariadb-binlog pads the hour with a space)', () => {
    assert.deepEqual(parseEventLine('#261202  0:24:39 server id 1  end_log_pos 1017 CRC32 0x6b2f1a3c \tQuery\tthread_id=5\texec_time=0\terror_code=0'), {
      type: 'Query',
      at: '2026-12-02T00:24:39Z',
    });
    assert.deepEqual(parseEventLine('#261202  9:05:01 server id 1  end_log_pos 1200 CRC32 0x6b2f1a3c \tWrite_rows: table id 33 flags: STMT_END_F'), {
      type: 'Write_rows',
      at: '2026-12-02T09:05:01Z',
    });
    assert.deepEqual(parseEventLine('#261202 23:59:59 server id 12  end_log_pos 4 CRC32 0x00000000 \tRotate to bin.000002  pos: 4'), {
      type: 'Rotate',
      at: '2026-12-02T23:59:59Z',
    });
    assert.equal(parseEventLine('# at 1017'), undefined);
  });

  it('names, sequence numbers and the stop time', () => {
    assert.deepEqual(binlogSequence('mysql-bin.000042'), { base: 'mysql-bin', seq: 42 });
    checkBinlogName('mariadb-bin.1000000');
    for (const bad of ['../etc/passwd', 'bin.12', '.bin.000001', 'a/b.000001']) assert.throws(() => checkBinlogName(bad), /not a binary log file name/);
    assert.equal(stopDatetime(new Date('2026-12-01T21:53:52.999Z')), '2026-12-01 21:53:52');
  });
});
