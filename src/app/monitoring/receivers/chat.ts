import { messageText, messageTitle, worstSeverity, type ReceiverMessage } from './message.js';

/** A colour per severity (a resolved or acknowledged notification is green, a test blue). */
export function severityColour(m: ReceiverMessage): string {
  if (m.notification === 'resolved') return '#2E7D32';
  if (m.notification === 'test') return '#1565C0';
  if (m.notification === 'ack') return '#607D8B';
  return { critical: '#D32F2F', high: '#F57C00', medium: '#FBC02D' }[worstSeverity(m)] ?? '#FBC02D';
}

const clip = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);

/** Slack incoming webhook: fallback text and one attachment per alert with the severity colour, the fix and details. */
export function slackPayload(m: ReceiverMessage): unknown {
  return {
    text: messageTitle(m),
    attachments: m.alerts.map((a) => ({
      color: severityColour(m),
      title: clip(`${a.severity.toUpperCase()} ${a.key}`, 150),
      text: a.message,
      fields: [
        { title: 'Fix', value: a.fix, short: false },
        { title: 'State', value: `${m.notification} (${a.state})`, short: true },
        { title: 'Host', value: m.host, short: true },
        ...Object.entries(a.details ?? {}).map(([k, v]) => ({ title: k, value: typeof v === 'string' ? v : JSON.stringify(v), short: true })),
      ],
      footer: `prism ${m.home}`,
      ts: Math.floor(Date.parse(m.time) / 1000),
    })),
  };
}

/** Microsoft Teams (Workflows / incoming webhook): one Adaptive Card, a container per alert. */
export function teamsPayload(m: ReceiverMessage): unknown {
  const style = m.notification === 'resolved' ? 'good' : worstSeverity(m) === 'critical' ? 'attention' : 'warning';
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
            { type: 'TextBlock', text: messageTitle(m), weight: 'Bolder', size: 'Medium', color: style, wrap: true },
            ...m.alerts.map((a) => ({
              type: 'Container',
              style: m.notification === 'resolved' ? 'good' : a.severity === 'critical' ? 'attention' : 'warning',
              items: [
                { type: 'TextBlock', text: a.message, wrap: true },
                {
                  type: 'FactSet',
                  facts: [
                    { title: 'Severity', value: a.severity },
                    { title: 'Key', value: a.key },
                    { title: 'Fix', value: a.fix },
                    { title: 'Host', value: m.host },
                    ...Object.entries(a.details ?? {}).map(([k, v]) => ({ title: k, value: typeof v === 'string' ? v : JSON.stringify(v) })),
                  ],
                },
              ],
            })),
          ],
        },
      },
    ],
  };
}

/** Discord webhook: one embed per alert (at most 10), colour as an integer, the fix as a field. */
export function discordPayload(m: ReceiverMessage): unknown {
  const colour = Number.parseInt(severityColour(m).slice(1), 16);
  return {
    username: 'prism',
    content: clip(messageTitle(m), 2000),
    embeds: m.alerts.slice(0, 10).map((a) => ({
      title: clip(`${a.severity.toUpperCase()} ${a.key}`, 256),
      description: clip(a.message, 4096),
      color: colour,
      fields: [
        { name: 'Fix', value: clip(a.fix, 1024), inline: false },
        { name: 'State', value: `${m.notification} (${a.state})`, inline: true },
        { name: 'Host', value: clip(m.host, 1024), inline: true },
        ...Object.entries(a.details ?? {})
          .slice(0, 20)
          .map(([k, v]) => ({ name: clip(k, 256), value: clip(typeof v === 'string' ? v : JSON.stringify(v), 1024), inline: true })),
      ],
      timestamp: m.time,
    })),
  };
}

/** ntfy's JSON publishing (POST to the server root): topic, title, message, priority by severity, tags. */
export function ntfyPayload(topic: string, m: ReceiverMessage): unknown {
  const severity = worstSeverity(m);
  const priority = m.notification === 'resolved' || m.notification === 'test' ? 3 : ({ critical: 5, high: 4, medium: 3 }[severity] ?? 3);
  const tags =
    m.notification === 'resolved'
      ? ['white_check_mark', 'prism']
      : m.notification === 'test'
        ? ['test_tube', 'prism']
        : [severity === 'critical' ? 'rotating_light' : 'warning', 'prism', severity];
  return { topic, title: messageTitle(m), message: messageText(m), priority, tags };
}
