/** A uPlot time-series chart, sized to its container, with a text summary for screen readers. */
import { useLayoutEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { formatShortTime } from '../format.js';

export interface ChartProps {
  label: string;
  /** What the chart shows, read by screen readers (aria-describedby). */
  summary: string;
  data: uPlot.AlignedData;
  series: uPlot.Series[];
  axes?: uPlot.Axis[];
  scales?: uPlot.Scales;
  /** Times (unix seconds) marked with a vertical line, e.g. failed attempts. */
  marks?: number[];
  /** Horizontal reference lines on the y scale, e.g. a target. */
  lines?: { value: number; label: string; color: string }[];
  height?: number;
}

function css(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

/** The plot is built again only when `data` changes (callers memoise it with the rest of the options), not on every render. */
export function Chart(props: ChartProps) {
  const { label, summary, data, height = 240 } = props;
  const box = useRef<HTMLDivElement>(null);
  const latest = useRef(props);
  latest.current = props;
  const id = useRef(`chart-${Math.random().toString(36).slice(2)}`);
  // a layout effect: the chart is drawn in the frame that shows the page, not in an empty box a frame later
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const { series, axes, scales, marks = [], lines = [] } = latest.current;
    const text = css('--text-muted', '#667');
    const grid = css('--border', '#ddd');
    const bad = css('--bad', '#c0392b');
    const axis = (a: uPlot.Axis = {}): uPlot.Axis => ({ stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, ...a });
    const opts: uPlot.Options = {
      width: Math.max(280, el.clientWidth),
      height,
      series: [{ label: 'Time', value: (_u, v) => (v == null ? '—' : formatShortTime(new Date(v * 1000).toISOString())) }, ...series],
      axes: axes ? axes.map(axis) : [axis(), axis()],
      scales: { x: { time: true }, ...scales },
      legend: { live: true },
      cursor: { points: { size: 7 } },
      hooks: {
        draw: [
          (u) => {
            const ctx = u.ctx;
            ctx.save();
            ctx.lineWidth = 1.5 * devicePixelRatio;
            for (const t of marks) {
              const x = u.valToPos(t, 'x', true);
              if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
              ctx.strokeStyle = bad;
              ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
              ctx.beginPath();
              ctx.moveTo(x, u.bbox.top);
              ctx.lineTo(x, u.bbox.top + u.bbox.height);
              ctx.stroke();
            }
            ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
            ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
            for (const l of lines) {
              const yScale = Object.keys(u.scales).find((k) => k !== 'x') ?? 'y';
              const y = u.valToPos(l.value, yScale, true);
              if (y < u.bbox.top || y > u.bbox.top + u.bbox.height) continue;
              ctx.strokeStyle = l.color;
              ctx.fillStyle = l.color;
              ctx.beginPath();
              ctx.moveTo(u.bbox.left, y);
              ctx.lineTo(u.bbox.left + u.bbox.width, y);
              ctx.stroke();
              ctx.fillText(l.label, u.bbox.left + u.bbox.width - ctx.measureText(l.label).width - 4 * devicePixelRatio, y - 4 * devicePixelRatio);
            }
            ctx.restore();
          },
        ],
      },
    };
    const plot = new uPlot(opts, data, el);
    const ro = new ResizeObserver(() => plot.setSize({ width: Math.max(280, el.clientWidth), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [data, height]);
  return (
    <figure class="chart" role="img" aria-label={label} aria-describedby={id.current}>
      <div ref={box} class="chart-box" data-points={data[0]?.length ?? 0} />
      <figcaption id={id.current} class="sr-only">
        {summary}
      </figcaption>
    </figure>
  );
}
