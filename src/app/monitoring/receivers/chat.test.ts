import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CHAT_LIMITS, clip, clipBytes, discordPayload, ntfyPayload, slackPayload, teamsPayload } from './chat.js';
import { receiverMessage, type AlertSummary } from './message.js';

const T0 = new Date('2026-02-08T12:00:00Z');
const base: AlertSummary = {
  key: 'backup_failed:full',
  severity: 'critical',
  rule: 'backup_failed',
  message: 'The last backup failed: the disk is full.',
  fix: 'Free space on /srv/backups, then run `prism backup create --type full`.',
  details: { backup_id: 'backup_20260208_020000_full', code: 'ERR_PRISM_NO_SPACE' },
  state: 'active',
  raised_at: T0.toISOString(),
  resolved_at: null,
};
const alertsOf = (n: number, over: Partial<AlertSummary> = {}): AlertSummary[] =>
  Array.from({ length: n }, (_, i) => ({ ...base, key: `${base.key}:${i}`, ...over }));
const LONG_FIX = `Free space first. ${'Then check /srv/backups and the mount options of the backup disk. '.repeat(200)}`; // ~13,000 characters
const details30 = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`detail_${i}`, 'x'.repeat(2_000)]));

interface Slack {
  text: string;
  attachments: {
    fallback: string;
    color: string;
    title: string;
    text: string;
    fields: { title: string; value: string; short: boolean }[];
    footer: string;
    ts: number;
  }[];
}
interface Teams {
  type: string;
  attachments: {
    contentType: string;
    contentUrl: null;
    content: {
      $schema: string;
      type: string;
      version: string;
      body: { type: string; text?: string; style?: string; items?: { type: string; text?: string; facts?: { title: string; value: string }[] }[] }[];
    };
  }[];
}
interface Discord {
  username: string;
  content: string;
  allowed_mentions: { parse: string[] };
  embeds: { title: string; description?: string; color: number; fields: { name: string; value: string; inline: boolean }[]; timestamp: string }[];
}
interface Ntfy {
  topic: string;
  title: string;
  message: string;
  priority: number;
  tags: string[];
}

describe('chat payloads: the shapes and limits each service documents', () => {
  it('Slack: text, and per alert an attachment with fallback, hex colour, title, text, fields and an integer ts', () => {
    const p = slackPayload(receiverMessage([base], 'raised', '/srv/prism', T0)) as Slack;
    assert.deepEqual(Object.keys(p), ['text', 'attachments']);
    const a = p.attachments[0]!;
    assert.deepEqual(Object.keys(a), ['fallback', 'color', 'title', 'text', 'fields', 'footer', 'ts']);
    assert.match(a.color, /^#[0-9A-F]{6}$/);
    assert.equal(a.color, '#D32F2F');
    assert.equal(a.fallback, `CRITICAL ${base.key}: ${base.message}`);
    assert.ok(Number.isInteger(a.ts) && a.ts === T0.getTime() / 1000);
    assert.deepEqual(a.fields[0], { title: 'Fix', value: base.fix, short: false });
    assert.ok(a.fields.every((f) => typeof f.title === 'string' && typeof f.value === 'string' && typeof f.short === 'boolean'));
  });

  it('Slack: &, < and > are escaped (no <!channel> mention, no link from a path in angle brackets); long texts cut to 4,000; at most 100 attachments', () => {
    const crafted = { ...base, message: 'disk <!channel> full & <http://evil.example|click>', fix: LONG_FIX };
    const p = slackPayload(receiverMessage([crafted, ...alertsOf(119)], 'raised', '/srv/prism', T0)) as Slack;
    const a = p.attachments[0]!;
    assert.equal(a.text, 'disk &lt;!channel&gt; full &amp; &lt;http://evil.example|click&gt;');
    assert.ok(!JSON.stringify(p).includes('<'), 'no raw < anywhere');
    const fix = a.fields[0]!.value;
    assert.equal(fix.length, CHAT_LIMITS.slack.text);
    assert.ok(fix.endsWith('…') && LONG_FIX.startsWith(fix.slice(0, -1)));
    assert.equal(p.attachments.length, 100);
    assert.match(p.text, /… and 20 more alerts not shown/);
    // an entity is never cut in two
    const amp = slackPayload(receiverMessage([{ ...base, fix: '&'.repeat(5_000) }], 'raised', '/h', T0)) as Slack;
    assert.match(amp.attachments[0]!.fields[0]!.value, /^(&amp;)+…$/);
    assert.ok(amp.attachments[0]!.fields[0]!.value.length <= CHAT_LIMITS.slack.text);
  });

  it('Teams: a message with one Adaptive Card attachment (contentType, contentUrl null, AdaptiveCard 1.4, TextBlock, Container, FactSet)', () => {
    const p = teamsPayload(receiverMessage([base], 'raised', '/srv/prism', T0)) as Teams;
    assert.equal(p.type, 'message');
    assert.equal(p.attachments.length, 1);
    const att = p.attachments[0]!;
    assert.equal(att.contentType, 'application/vnd.microsoft.card.adaptive');
    assert.equal(att.contentUrl, null);
    assert.equal(att.content.type, 'AdaptiveCard');
    assert.equal(att.content.$schema, 'http://adaptivecards.io/schemas/adaptive-card.json');
    assert.equal(att.content.version, '1.4');
    assert.deepEqual(
      att.content.body.map((b) => b.type),
      ['TextBlock', 'Container'],
    );
    const c = att.content.body[1]!;
    assert.equal(c.style, 'attention');
    assert.deepEqual(
      c.items!.map((i) => i.type),
      ['TextBlock', 'FactSet'],
    );
    assert.deepEqual(c.items![1]!.facts!.slice(0, 4), [
      { title: 'Severity', value: 'critical' },
      { title: 'Key', value: base.key },
      { title: 'Fix', value: base.fix },
      { title: 'Host', value: c.items![1]!.facts![3]!.value },
    ]);
  });

  it('Teams: within 28 KB however long or many the alerts; the fix is cut, the alerts left out are counted', () => {
    const many = teamsPayload(receiverMessage(alertsOf(60, { fix: LONG_FIX, details: details30 }), 'raised', '/srv/prism', T0)) as Teams;
    assert.ok(Buffer.byteLength(JSON.stringify(many)) <= CHAT_LIMITS.teams.bytes, `${Buffer.byteLength(JSON.stringify(many))} bytes`);
    const body = many.attachments[0]!.content.body;
    const shown = body.filter((b) => b.type === 'Container').length;
    assert.ok(shown >= 1 && shown < 60);
    assert.equal(body.at(-1)!.text, `… and ${60 - shown} more alerts not shown (prism alerts lists them all)`);
    const fix = body[1]!.items![1]!.facts![2]!.value;
    assert.equal(fix.length, CHAT_LIMITS.teams.text);
    assert.ok(fix.endsWith('…'));
    // one alert of 3-byte characters only: its texts are cut further until it fits
    const wide = '警'.repeat(30_000);
    const one = teamsPayload(
      receiverMessage([{ ...base, message: wide, fix: wide, details: Object.fromEntries(Object.keys(details30).map((k) => [k, wide])) }], 'raised', '/h', T0),
    );
    assert.ok(Buffer.byteLength(JSON.stringify(one)) <= CHAT_LIMITS.teams.bytes);
    assert.equal((one as Teams).attachments[0]!.content.body.filter((b) => b.type === 'Container').length, 1);
  });

  it('Discord: username, content, no mentions parsed, embeds with an integer colour, fields (name, value, inline) and an ISO timestamp', () => {
    const p = discordPayload(receiverMessage([{ ...base, message: 'ping @everyone and @here' }], 'raised', '/srv/prism', T0)) as Discord;
    assert.deepEqual(Object.keys(p), ['username', 'content', 'allowed_mentions', 'embeds']);
    assert.deepEqual(p.allowed_mentions, { parse: [] });
    const e = p.embeds[0]!;
    assert.ok(Number.isInteger(e.color) && e.color >= 0 && e.color <= 0xffffff);
    assert.equal(e.color, 0xd32f2f);
    assert.equal(e.title, `CRITICAL ${base.key}`);
    assert.equal(e.description, 'ping @everyone and @here');
    assert.deepEqual(e.fields[0], { name: 'Fix', value: base.fix, inline: false });
    assert.ok(e.fields.some((f) => f.name === 'backup_id' && f.value === 'backup_20260208_020000_full'));
    assert.equal(e.timestamp, T0.toISOString());
    // an empty fix or detail is not an empty field (Discord refuses those)
    const empty = discordPayload(receiverMessage([{ ...base, fix: '', details: { note: '' } }], 'raised', '/h', T0)) as Discord;
    assert.ok(empty.embeds[0]!.fields.every((f) => f.name.length > 0 && f.value.length > 0));
  });

  it('Discord: every limit kept — 10 embeds, title 256, description 4,096, 25 fields of 256/1,024, 6,000 in all, content 2,000', () => {
    const L = CHAT_LIMITS.discord;
    const check = (p: Discord) => {
      assert.ok(p.embeds.length <= L.embeds);
      assert.ok(p.content.length <= L.content);
      let total = 0;
      for (const e of p.embeds) {
        assert.ok(e.title.length <= L.title);
        assert.ok((e.description ?? '').length <= L.description);
        assert.ok(e.fields.length <= L.fields);
        for (const f of e.fields) {
          assert.ok(f.name.length >= 1 && f.name.length <= L.fieldName);
          assert.ok(f.value.length >= 1 && f.value.length <= L.fieldValue);
        }
        total += e.title.length + (e.description ?? '').length + e.fields.reduce((n, f) => n + f.name.length + f.value.length, 0);
      }
      assert.ok(total <= L.total, `${total} characters in the embeds`);
    };
    const huge = { message: 'm'.repeat(10_000), fix: LONG_FIX, details: details30, key: `k${'e'.repeat(400)}` };
    const twelve = discordPayload(receiverMessage(alertsOf(12, huge), 'raised', '/srv/prism', T0)) as Discord;
    check(twelve);
    assert.equal(twelve.embeds.length, 10);
    assert.match(twelve.content, /… and 2 more alerts not shown/);
    const one = discordPayload(
      receiverMessage([{ ...base, message: 'm'.repeat(10_000), fix: LONG_FIX, details: details30 }], 'raised', '/srv/prism', T0),
    ) as Discord;
    check(one);
    // one alert: the fix gets its full field, then the message what is left
    assert.equal(one.embeds[0]!.fields[0]!.value.length, L.fieldValue);
    assert.ok(one.embeds[0]!.fields[0]!.value.endsWith('…'));
    assert.ok(one.embeds[0]!.description!.length > 4_000 - 1_024 - 300 && one.embeds[0]!.description!.endsWith('…'));
  });

  it('ntfy: JSON with topic, title, message, priority 1–5 and tags; the message cut within 4,096 bytes', () => {
    const p = ntfyPayload('prism-backups', receiverMessage([base], 'raised', '/srv/prism', T0)) as Ntfy;
    assert.deepEqual(Object.keys(p), ['topic', 'title', 'message', 'priority', 'tags']);
    assert.equal(p.topic, 'prism-backups');
    assert.equal(p.priority, 5);
    assert.ok(Number.isInteger(p.priority) && p.priority >= 1 && p.priority <= 5);
    assert.deepEqual(p.tags, ['rotating_light', 'prism', 'critical']);
    assert.match(p.message, /Fix: Free space/);
    const long = ntfyPayload('t', receiverMessage(alertsOf(3, { fix: `Überprüfen ${'ü'.repeat(5_000)}` }), 'raised', '/srv/prism', T0)) as Ntfy;
    assert.ok(Buffer.byteLength(long.message) <= CHAT_LIMITS.ntfy.messageBytes, `${Buffer.byteLength(long.message)} bytes`);
    assert.ok(Buffer.byteLength(long.message) > CHAT_LIMITS.ntfy.messageBytes - 4);
    assert.ok(long.message.endsWith('…') && !long.message.includes('\uFFFD'));
    assert.ok(long.title.length <= CHAT_LIMITS.ntfy.title);
  });

  it('clip and clipBytes never split a character', () => {
    assert.equal(clip('abc', 3), 'abc');
    assert.equal(clip('abcd', 3), 'ab…');
    assert.equal(clip('ab😀c', 4), 'ab…');
    assert.equal(clip('😀😀', 2), '…');
    assert.equal(clipBytes('aé😀', 7), 'aé😀');
    assert.equal(clipBytes('aé😀x', 7), 'aé…');
    assert.equal(clipBytes('éééé', 6), 'é…');
  });
});
