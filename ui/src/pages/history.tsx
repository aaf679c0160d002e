/** History: size, stored size, duration and new data per backup over time (full vs incremental, failures marked), disk use, ratios, drill RTO. */
import { useMemo } from 'preact/hooks';
import type uPlot from 'uplot';
import { Chart } from '../components/chart.js';
import { Card, PageHeader } from '../components/layout.js';
import { Badge } from '../components/status.js';
import { Empty, ErrorBox, Loading } from '../components/feedback.js';
import { formatBytes, formatCount, formatPercent, formatSeconds } from '../format.js';
import type { History } from '../types.js';
import { useApi } from '../use-api.js';

const FULL = '#3b6fd8';
const INCR = '#17a589';
const BAD = '#d0453a';
const TARGET = '#b7791f';

type Metric = 'size' | 'stored_size' | 'new_data' | 'duration_seconds';

const METRICS: { key: Metric; title: string; bytes: boolean }[] = [
  { key: 'size', title: 'Size (original bytes)', bytes: true },
  { key: 'stored_size', title: 'Stored size', bytes: true },
  { key: 'new_data', title: 'New data', bytes: true },
  { key: 'duration_seconds', title: 'Duration', bytes: false },
];

/** Axis steps in powers of 1024 (1, 2, 5 × KB, MB …), so ticks read 512 KB, 1.0 MB rather than 976.6 KB. */
const BYTE_INCRS = [0, 1, 2, 3, 4].flatMap((k) => [1, 2, 4, 8, 16, 32, 64, 128, 256, 512].map((m) => m * 1024 ** k));

const fmtBytes = (_u: uPlot, v: number | null) => (v === null || v === undefined ? '—' : formatBytes(Math.round(v)));
const fmtSecs = (_u: uPlot, v: number | null) => (v === null || v === undefined ? '—' : formatSeconds(v));

function pointSeries(label: string, color: string, bytes: boolean): uPlot.Series {
  // points drawn while there is room for them (uPlot's default), so thousands of backups stay a line
  return { label, stroke: color, width: 1.25, spanGaps: true, points: { size: 5, fill: color }, value: bytes ? fmtBytes : fmtSecs };
}

function MetricChart({ h, metric }: { h: History; metric: (typeof METRICS)[number] }) {
  const { data, series, axes, summary } = useMemo(() => {
    const rows = h.backups.filter((b) => b[metric.key] !== null && b[metric.key] !== undefined);
    const xs = rows.map((b) => Date.parse(b.time) / 1000);
    const full = rows.map((b) => (b.type === 'full' ? (b[metric.key] as number) : null));
    const incr = rows.map((b) => (b.type === 'incremental' ? (b[metric.key] as number) : null));
    const fmt = metric.bytes ? (v: number) => formatBytes(Math.round(v)) : (v: number) => formatSeconds(v);
    const vals = rows.map((b) => b[metric.key] as number);
    const max = vals.length ? Math.max(...vals) : 0;
    const last = vals.length ? vals[vals.length - 1]! : 0;
    return {
      // full backups drawn last, over the (many more) incremental ones
      data: [xs, incr, full] as uPlot.AlignedData,
      series: [pointSeries('Incremental', INCR, metric.bytes), pointSeries('Full', FULL, metric.bytes)],
      axes: [
        {},
        {
          size: 70,
          ...(metric.bytes ? { incrs: BYTE_INCRS } : {}),
          values: (_u: uPlot, splits: number[]) => splits.map((v) => (metric.bytes ? formatBytes(Math.round(v)) : formatSeconds(v))),
        },
      ] as uPlot.Axis[],
      summary: `${metric.title} of ${rows.length} backups: latest ${fmt(last)}, largest ${fmt(max)}. Full backups in blue, incremental in green; ${h.failures.length} failed attempts marked with red dashed lines.`,
    };
  }, [h, metric]);
  return (
    <Card title={metric.title}>
      <Chart
        label={`${metric.title} per backup over time`}
        summary={summary}
        data={data}
        series={series}
        axes={axes}
        marks={h.failures.map((f) => Date.parse(f.time) / 1000)}
        height={220}
      />
    </Card>
  );
}

function DiskMeter({ used, thresholds }: { used: number | null; thresholds: number[] }) {
  if (used === null) return <Empty title="Disk use unknown">The repository's disk could not be measured (a remote repository has no disk of its own).</Empty>;
  const level = thresholds.filter((t) => used >= t).length;
  const tone = level === 0 ? 'ok' : level === 1 ? 'warn' : 'bad';
  return (
    <div>
      <p class="indicator-value">
        {used.toFixed(1)}% <Badge tone={tone}>{level === 0 ? `under ${thresholds[0]}%` : `over ${thresholds[level - 1]}%`}</Badge>
      </p>
      <div
        class="meter"
        role="meter"
        aria-label="Repository disk use"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(used)}
        aria-valuetext={`${used.toFixed(1)}% used`}
      >
        <div class={`meter-fill meter-${tone}`} style={{ width: `${Math.min(100, used)}%` }} />
        {thresholds.map((t) => (
          <div class="meter-line" style={{ left: `${t}%` }} key={t}>
            <span>{t}%</span>
          </div>
        ))}
      </div>
    </div>
  );
}

function DrillChart({ h }: { h: History }) {
  const { data, series, range, target } = useMemo(() => {
    const rows = [...h.drills].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
    const xs = rows.map((d) => Date.parse(d.time) / 1000);
    const span = xs.length ? xs[xs.length - 1]! - xs[0]! : 0;
    return {
      // one drill (or all at once): a day either side, not uPlot's default of years
      range: span < 3600 ? ([(xs[0] ?? 0) - 43_200, (xs[0] ?? 0) + 43_200] as [number, number]) : null,
      target: rows.length ? rows[rows.length - 1]!.target_seconds : null,
      data: [
        rows.map((d) => Date.parse(d.time) / 1000),
        rows.map((d) => (d.passed ? d.rto_seconds : null)),
        rows.map((d) => (!d.passed ? d.rto_seconds : null)),
        rows.map((d) => d.target_seconds),
      ] as uPlot.AlignedData,
      series: [
        { label: 'RTO (passed)', stroke: INCR, width: 0, points: { show: true, size: 8, fill: INCR }, value: fmtSecs },
        { label: 'RTO (failed)', stroke: BAD, width: 0, points: { show: true, size: 8, fill: BAD }, value: fmtSecs },
        { label: 'Target', stroke: TARGET, width: 2, dash: [6, 4], points: { show: true, size: 4, fill: TARGET }, value: fmtSecs, spanGaps: true },
      ] as uPlot.Series[],
    };
  }, [h]);
  if (h.drills.length === 0)
    return (
      <Empty title="No restore drills yet">
        The service runs one each month (schedule <code>drill</code>); run one now with <code>prism drill</code>.
      </Empty>
    );
  const passed = h.drills.filter((d) => d.passed).length;
  return (
    <Chart
      label="Restore drill RTO against its target"
      summary={`${h.drills.length} drills, ${passed} passed. RTO points against the target line.`}
      data={data}
      series={series}
      axes={[{}, { size: 60, values: (_u: uPlot, s: number[]) => s.map((v) => formatSeconds(v)) }]}
      scales={{ y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.15)] }, ...(range ? { x: { time: true, range } } : {}) }}
      lines={target !== null ? [{ value: target, label: `target ${formatSeconds(target)}`, color: TARGET }] : []}
      height={220}
    />
  );
}

export function HistoryPage() {
  const { data, error, loading, reload } = useApi<History>('/api/history', true);
  if (error) return <ErrorBox error={error} retry={reload} />;
  if (!data) return loading ? <Loading what="Loading the history" /> : null;
  const full = data.backups.filter((b) => b.type === 'full').length;
  return (
    <>
      <PageHeader
        title="History"
        lead={`${formatCount(data.backups.length)} backups (${formatCount(full)} full, ${formatCount(data.backups.length - full)} incremental), ${formatCount(data.failures.length)} failed attempt${data.failures.length === 1 ? '' : 's'}.`}
      />
      {data.backups.length === 0 ? (
        <Empty title="No backups to chart yet">
          Charts appear after the first backup: <code>prism backup create --type full</code>.
        </Empty>
      ) : (
        <>
          <p class="legend-note small muted">
            <span class="swatch" style={{ background: FULL }} /> full · <span class="swatch" style={{ background: INCR }} /> incremental ·{' '}
            <span class="swatch swatch-dashed" style={{ borderColor: BAD }} /> failed attempt. Hover a chart to read its values.
          </p>
          <div class="grid grid-2">
            {METRICS.map((m) => (
              <MetricChart h={data} metric={m} key={m.key} />
            ))}
          </div>
        </>
      )}
      <div class="grid grid-2">
        <Card title="Repository disk use">
          <DiskMeter used={data.disk?.used_percent ?? null} thresholds={data.disk?.thresholds ?? [80, 90, 95]} />
        </Card>
        <Card title="Deduplication and compression">
          <dl class="facts facts-row">
            <div>
              <dt>Deduplication</dt>
              <dd class="indicator-value">{data.ratios?.dedup != null ? `${data.ratios.dedup.toFixed(2)}×` : '—'}</dd>
              <dd class="small muted">data of all backups / unique data</dd>
            </div>
            <div>
              <dt>Compression</dt>
              <dd class="indicator-value">{data.ratios?.compression != null ? formatPercent(data.ratios.compression) : '—'}</dd>
              <dd class="small muted">saved by zstd on unique data</dd>
            </div>
          </dl>
        </Card>
      </div>
      <Card title="Restore drills: RTO against target">
        <DrillChart h={data} />
      </Card>
    </>
  );
}
