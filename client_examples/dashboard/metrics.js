// Figures for the charts: per-interval throughput, time-to-complete percentiles, sampled gauges (pure).

/** The nearest-rank percentile (0-100) of `values`; null for none. */
export function percentile(values, p) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** Events and samples in fixed time buckets, the last `size` buckets kept. */
export class Timeline {
  constructor(bucketMs = 5000, size = 60) {
    this.bucketMs = bucketMs;
    this.size = size;
    this.buckets = new Map(); // bucket index -> { n, values, last }
  }

  bucket(tMs) {
    const i = Math.floor(tMs / this.bucketMs);
    let b = this.buckets.get(i);
    if (!b) {
      b = { n: 0, values: [], last: null };
      this.buckets.set(i, b);
      for (const k of this.buckets.keys()) if (k <= i - this.size) this.buckets.delete(k);
    }
    return b;
  }

  /** One event at `tMs`, with an optional measured value (a time to complete). */
  add(tMs, value) {
    const b = this.bucket(tMs);
    b.n += 1;
    if (value != null) b.values.push(value);
  }

  /** A gauge reading (queue depth): the bucket keeps the latest. */
  sample(tMs, value) {
    this.bucket(tMs).last = value;
  }

  /** The last `size` buckets up to `nowMs`, oldest first: rate per second, p50, p95, last sample. */
  series(nowMs) {
    const end = Math.floor(nowMs / this.bucketMs);
    const out = [];
    let last = null;
    for (let i = end - this.size + 1; i <= end; i++) {
      const b = this.buckets.get(i);
      if (b?.last != null) last = b.last;
      out.push({
        t: i * this.bucketMs,
        rate: (b?.n ?? 0) / (this.bucketMs / 1000),
        p50: b ? percentile(b.values, 50) : null,
        p95: b ? percentile(b.values, 95) : null,
        last: b ? (b.last ?? last) : last,
      });
    }
    return out;
  }
}

/** The series from its first bucket with data on, but never fewer than `minLength` buckets. */
export function fromFirstData(series, minLength = 30) {
  const first = series.findIndex((b) => b.rate > 0 || b.last != null);
  const start = first < 0 ? series.length - minLength : Math.min(first, series.length - minLength);
  return series.slice(Math.max(0, start));
}

/** Each value averaged with the `k - 1` before it: a batch finishes all at once, the rate is smoother. */
export function trailingMean(values, k) {
  return values.map((_, i) => {
    const window = values.slice(Math.max(0, i - k + 1), i + 1);
    return window.reduce((a, b) => a + b, 0) / window.length;
  });
}
