// Preloaded into fraudwall by bench/memory-probe.mjs (`node --import`): every `FW_LOOP_DELAY_MS`
// milliseconds it writes one JSON line to stderr with the event-loop delay percentiles of the
// interval (perf_hooks monitorEventLoopDelay, 1 ms resolution), the V8 heap split and GC counts and
// pause times (PerformanceObserver 'gc'), then resets. Bench-only: nothing in src/ depends on it.
import { monitorEventLoopDelay, PerformanceObserver, constants } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';

const every = Number(process.env.FW_LOOP_DELAY_MS || 1000);
const histogram = monitorEventLoopDelay({ resolution: 1 });
histogram.enable();
const gc = { minor: 0, minorMs: 0, major: 0, majorMs: 0, maxMs: 0 };
const observer = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = entry.detail?.kind ?? entry.kind;
    const ms = entry.duration;
    if (kind === constants.NODE_PERFORMANCE_GC_MINOR) {
      gc.minor++;
      gc.minorMs += ms;
    } else {
      gc.major++;
      gc.majorMs += ms;
    }
    if (ms > gc.maxMs) gc.maxMs = ms;
  }
});
observer.observe({ entryTypes: ['gc'] });

const ms = (ns) => Math.round(ns / 1e4) / 100;
setInterval(() => {
  const m = process.memoryUsage();
  const line = {
    msg: 'bench-loop-delay',
    p50: ms(histogram.percentile(50)),
    p99: ms(histogram.percentile(99)),
    max: ms(histogram.max),
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    spaces: Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, Math.round(s.space_size / 2 ** 20)])),
    gc: { ...gc, minorMs: Math.round(gc.minorMs * 100) / 100, majorMs: Math.round(gc.majorMs * 100) / 100, maxMs: Math.round(gc.maxMs * 100) / 100 },
  };
  process.stderr.write(`${JSON.stringify(line)}\n`);
  histogram.reset();
  gc.minor = gc.minorMs = gc.major = gc.majorMs = gc.maxMs = 0;
}, every).unref();
