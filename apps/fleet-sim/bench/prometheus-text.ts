// Reading the control plane's GET /metrics (Prometheus text) in the fleet benchmarks.

/** A gauge or counter's value (NaN when absent). */
export const gauge = (text: string, name: string): number => Number(new RegExp(`^${name} ([\\d.e+]+)$`, 'm').exec(text)?.[1] ?? NaN);

/** The p-th percentile from the difference of two cumulative Prometheus histograms (upper bound of its bucket). */
export function histogramP(before: string, after: string, name: string, p: number): number {
  const buckets = (text: string) =>
    [...text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\d+)$`, 'gm'))].map((m) => ({ le: m[1] === '+Inf' ? Infinity : Number(m[1]), n: Number(m[2]) }));
  const a = buckets(before);
  const b = buckets(after);
  const total = b[b.length - 1]!.n - a[a.length - 1]!.n;
  if (total === 0) return 0;
  for (let i = 0; i < b.length; i++) if (b[i]!.n - a[i]!.n >= (p / 100) * total) return b[i]!.le;
  return Infinity;
}
