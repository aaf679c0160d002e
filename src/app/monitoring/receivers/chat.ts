import { messageText, messageTitle, worstSeverity, type AlertSummary, type ReceiverMessage } from './message.js';

/** A colour per severity (a resolved or acknowledged notification is green, a test blue). */
export function severityColour(m: ReceiverMessage): string {
  if (m.notification === 'resolved') return '#2E7D32';
  if (m.notification === 'test') return '#1565C0';
  if (m.notification === 'ack') return '#607D8B';
  return { critical: '#D32F2F', high: '#F57C00', medium: '#FBC02D' }[worstSeverity(m)] ?? '#FBC02D';
}

/**
 * What each service documents it takes (beyond it a message is refused, cut or split by the
 * service): texts are cut to these lengths here, ending with "…", so that a long fix or message
 * is shortened, never refused.
 */
export const CHAT_LIMITS = {
  /** Slack: a message's `text` is truncated by Slack past 40,000 characters, and split past 4,000; at most 100 attachments. */
  slack: { text: 4_000, attachments: 100 },
  /** Discord (Execute Webhook, embed limits): content 2,000; 10 embeds; title 256, description 4,096, 25 fields (name 256, value 1,024); 6,000 in all embeds together. */
  discord: { content: 2_000, embeds: 10, title: 256, description: 4_096, fields: 25, fieldName: 256, fieldValue: 1_024, total: 6_000 },
  /** Teams (incoming webhook / Workflows): 28 KB per message. */
  teams: { bytes: 28_000, text: 2_000 },
  /** ntfy: a message body above 4,096 bytes becomes an attachment (or is refused where attachments are off). */
  ntfy: { messageBytes: 4_096, title: 256 },
} as const;

/** At most `n` UTF-16 units, "…" last when cut; a surrogate pair is never split. */
export function clip(s: string, max: number): string {
  const n = Math.floor(max);
  if (s.length <= n) return s;
  if (n <= 0) return '';
  let cut = n - 1;
  if (cut > 0 && /[\uD800-\uDBFF]/.test(s[cut - 1]!)) cut--;
  return `${s.slice(0, cut)}…`;
}

/** At most `n` bytes of UTF-8, "…" last when cut; a character is never split. */
export function clipBytes(s: string, n: number): string {
  if (Buffer.byteLength(s, 'utf8') <= n) return s;
  let out = '';
  let used = 3; // the "…"
  for (const ch of s) {
    const b = Buffer.byteLength(ch, 'utf8');
    if (used + b > n) break;
    out += ch;
    used += b;
  }
  return `${out}…`;
}

const text = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

/** Slack's three control characters as its formatting reference asks (`<` starts a link or a mention such as <!channel>). */
export function slackEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Escaped, then at most `n` characters (an entity is never cut in two). */
function slackText(s: string, n: number = CHAT_LIMITS.slack.text): string {
  const escaped = slackEscape(s);
  if (escaped.length <= n) return escaped;
  let out = '';
  for (const ch of s) {
    const e = slackEscape(ch);
    if (out.length + e.length > n - 1) break;
    out += e;
  }
  return `${out}…`;
}

/** "… and N more alerts not shown" when a service takes fewer than the group holds. */
const more = (n: number) => `… and ${n} more alert${n === 1 ? '' : 's'} not shown (prism alerts lists them all)`;

/**
 * Slack incoming webhook: `text` (the notification and fallback), and one legacy attachment per
 * alert with `fallback`, the severity `color`, `title`, `text`, `fields` (Fix, State, Host, the
 * details), `footer` and `ts`. Texts are escaped (&, <, >) and cut to Slack's limits.
 */
export function slackPayload(m: ReceiverMessage): unknown {
  const { attachments: max } = CHAT_LIMITS.slack;
  const shown = m.alerts.slice(0, max);
  const hidden = m.alerts.length - shown.length;
  return {
    text: slackText(hidden > 0 ? `${messageTitle(m)}\n${more(hidden)}` : messageTitle(m)),
    attachments: shown.map((a) => ({
      fallback: slackText(`${a.severity.toUpperCase()} ${a.key}: ${a.message}`),
      color: severityColour(m),
      title: slackText(`${a.severity.toUpperCase()} ${a.key}`, 150),
      text: slackText(a.message),
      fields: [
        { title: 'Fix', value: slackText(a.fix), short: false },
        { title: 'State', value: slackText(`${m.notification} (${a.state})`), short: true },
        { title: 'Host', value: slackText(m.host), short: true },
        ...Object.entries(a.details ?? {}).map(([k, v]) => ({ title: slackText(k, 150), value: slackText(text(v)), short: true })),
      ],
      footer: slackText(`prism ${m.home}`, 300),
      ts: Math.floor(Date.parse(m.time) / 1000),
    })),
  };
}

/** Microsoft Teams (Workflows / incoming webhook): one Adaptive Card, a container per alert; within 28 KB. */
export function teamsPayload(m: ReceiverMessage): unknown {
  const { bytes } = CHAT_LIMITS.teams;
  const style = m.notification === 'resolved' ? 'good' : worstSeverity(m) === 'critical' ? 'attention' : 'warning';
  const container = (a: AlertSummary, n: number) => ({
    type: 'Container',
    style: m.notification === 'resolved' ? 'good' : a.severity === 'critical' ? 'attention' : 'warning',
    items: [
      { type: 'TextBlock', text: clip(a.message, n), wrap: true },
      {
        type: 'FactSet',
        facts: [
          { title: 'Severity', value: a.severity },
          { title: 'Key', value: clip(a.key, n / 4) },
          { title: 'Fix', value: clip(a.fix, n) },
          { title: 'Host', value: clip(m.host, n / 4) },
          ...Object.entries(a.details ?? {})
            .slice(0, 20)
            .map(([k, v]) => ({ title: clip(k, n / 10), value: clip(text(v), n / 4) })),
        ],
      },
    ],
  });
  const payload = (shown: number, n: number) => {
    const hidden = m.alerts.length - shown;
    return {
      type: 'message',
      attachments: [
        {
          contentType: 'application/vnd.microsoft.card.adaptive',
          contentUrl: null,
          content: {
            $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
            type: 'AdaptiveCard',
            version: '1.4',
            msteams: { width: 'Full' },
            body: [
              { type: 'TextBlock', text: clip(messageTitle(m), n), weight: 'Bolder', size: 'Medium', color: style, wrap: true },
              ...m.alerts.slice(0, shown).map((a) => container(a, n)),
              ...(hidden > 0 ? [{ type: 'TextBlock', text: more(hidden), isSubtle: true, wrap: true }] : []),
            ],
          },
        },
      ],
    };
  };
  const fits = (p: unknown) => Buffer.byteLength(JSON.stringify(p), 'utf8') <= bytes;
  // the alerts that fit in 28 KB, the most severe first (the group's order); then shorter texts
  let shown = m.alerts.length;
  while (shown > 1 && !fits(payload(shown, CHAT_LIMITS.teams.text))) shown--;
  let n: number = CHAT_LIMITS.teams.text;
  while (n > 100 && !fits(payload(shown, n))) n = Math.floor(n / 2);
  return payload(shown, n);
}

/**
 * Discord webhook: `content` (the title), one embed per alert (at most 10) with an integer
 * `color`, `description`, fields Fix, State, Host and the details, `timestamp`. Every text is cut
 * to its limit and the embeds share Discord's 6,000 characters; no mention (@everyone in a
 * message) pings anyone.
 */
export function discordPayload(m: ReceiverMessage): unknown {
  const L = CHAT_LIMITS.discord;
  const colour = Number.parseInt(severityColour(m).slice(1), 16);
  const shown = m.alerts.slice(0, L.embeds);
  const hidden = m.alerts.length - shown.length;
  // each embed's share of the 6,000 characters, spent on the title, the fix, state and host, the message, then the details
  const budget = Math.floor(L.total / Math.max(1, shown.length));
  const nonEmpty = (s: string) => (s.trim() === '' ? '-' : s);
  const embeds = shown.map((a) => {
    let left = budget;
    const take = (s: string, max: number) => {
      const out = clip(s, Math.max(1, Math.min(max, left)));
      left -= out.length;
      return out;
    };
    const title = take(`${a.severity.toUpperCase()} ${a.key}`, L.title);
    const state = `${m.notification} (${a.state})`;
    const host = clip(m.host, 100);
    left -= 'State'.length + state.length + 'Host'.length + host.length + 'Fix'.length;
    const fix = take(nonEmpty(a.fix), Math.min(L.fieldValue, Math.max(1, left - 1)));
    const description = left > 1 && a.message.trim() !== '' ? take(a.message, L.description) : undefined;
    const details: Array<{ name: string; value: string; inline: boolean }> = [];
    for (const [k, v] of Object.entries(a.details ?? {}).slice(0, L.fields - 3)) {
      const name = clip(nonEmpty(k), L.fieldName);
      const value = clip(nonEmpty(text(v)), L.fieldValue);
      if (name.length + value.length > left) break;
      left -= name.length + value.length;
      details.push({ name, value, inline: true });
    }
    return {
      title,
      ...(description !== undefined ? { description } : {}),
      color: colour,
      fields: [
        { name: 'Fix', value: fix, inline: false },
        { name: 'State', value: state, inline: true },
        { name: 'Host', value: nonEmpty(host), inline: true },
        ...details,
      ],
      timestamp: m.time,
    };
  });
  return {
    username: 'prism',
    content: clip(hidden > 0 ? `${messageTitle(m)}\n${more(hidden)}` : messageTitle(m), L.content),
    allowed_mentions: { parse: [] },
    embeds,
  };
}

/** ntfy's JSON publishing (POST to the server root): topic, title, message (within 4,096 bytes), priority by severity, tags. */
export function ntfyPayload(topic: string, m: ReceiverMessage): unknown {
  const severity = worstSeverity(m);
  const priority = m.notification === 'resolved' || m.notification === 'test' ? 3 : ({ critical: 5, high: 4, medium: 3 }[severity] ?? 3);
  const tags =
    m.notification === 'resolved'
      ? ['white_check_mark', 'prism']
      : m.notification === 'test'
        ? ['test_tube', 'prism']
        : [severity === 'critical' ? 'rotating_light' : 'warning', 'prism', severity];
  return {
    topic,
    title: clip(messageTitle(m), CHAT_LIMITS.ntfy.title),
    message: clipBytes(messageText(m), CHAT_LIMITS.ntfy.messageBytes),
    priority,
    tags,
  };
}
