// A dependency-free SVG chart for the admin page: bars or a line over one value per day.
// Server-rendered; a <title> per point gives the exact value on hover.

export type ChartPoint = { label: string; value: number; display?: string };

const W = 560;
const H = 180;
const PAD = { top: 12, right: 12, bottom: 24, left: 52 };

function niceMax(max: number): number {
  if (max <= 0) return 1;
  const step = 10 ** Math.floor(Math.log10(max));
  return Math.ceil(max / step) * step;
}

export function SeriesChart({
  title,
  points,
  kind = 'bar',
  color = 'var(--accent)',
  format = (v: number) => String(v),
}: {
  title: string;
  points: ChartPoint[];
  kind?: 'bar' | 'line';
  color?: string;
  format?: (v: number) => string;
}) {
  const max = niceMax(Math.max(0, ...points.map((p) => p.value)));
  const innerW = W - PAD.left - PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  const step = innerW / Math.max(1, points.length);
  const xAt = (i: number) => PAD.left + i * step + step / 2;
  const yAt = (v: number) => PAD.top + innerH - (v / max) * innerH;
  const labelEvery = Math.max(1, Math.ceil(points.length / 8));
  const line = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${xAt(i).toFixed(1)},${yAt(p.value).toFixed(1)}`).join(' ');
  return (
    <figure className="card" style={{ margin: 0 }} data-testid={`chart-${title}`}>
      <figcaption style={{ fontWeight: 600, marginBottom: '0.5rem' }}>{title}</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} width="100%" role="img" aria-label={title}>
        {[0, 0.5, 1].map((f) => (
          <g key={f}>
            <line
              x1={PAD.left}
              x2={W - PAD.right}
              y1={yAt(max * f)}
              y2={yAt(max * f)}
              stroke="var(--border)"
              strokeDasharray={f ? '3 3' : undefined}
            />
            <text x={PAD.left - 6} y={yAt(max * f) + 4} textAnchor="end" fontSize="10" fill="var(--muted)">
              {format(max * f)}
            </text>
          </g>
        ))}
        {kind === 'bar'
          ? points.map((p, i) => (
              <rect
                key={p.label}
                x={xAt(i) - step * 0.35}
                width={step * 0.7}
                y={yAt(p.value)}
                height={Math.max(0, PAD.top + innerH - yAt(p.value))}
                fill={color}
                rx="2"
              >
                <title>{`${p.label}: ${p.display ?? format(p.value)}`}</title>
              </rect>
            ))
          : [
              <path key="line" d={line} fill="none" stroke={color} strokeWidth="2" />,
              ...points.map((p, i) => (
                <circle key={p.label} cx={xAt(i)} cy={yAt(p.value)} r="3" fill={color}>
                  <title>{`${p.label}: ${p.display ?? format(p.value)}`}</title>
                </circle>
              )),
            ]}
        {points.map((p, i) =>
          i % labelEvery === 0 ? (
            <text key={p.label} x={xAt(i)} y={H - 6} textAnchor="middle" fontSize="10" fill="var(--muted)">
              {p.label.slice(5)}
            </text>
          ) : null,
        )}
      </svg>
    </figure>
  );
}
