// Preload (node --require) for measuring a member from inside: every second it appends one JSON line
// with process.memoryUsage() and V8's heap spaces to $MEMPROBE_OUT. With MEMPROBE_SAMPLE=1 it also runs
// V8's sampling heap profiler counting objects later collected by minor and major GCs (i.e. who
// allocates, garbage included); SIGUSR2 writes that profile to $MEMPROBE_OUT.heapprofile.
// With node --expose-gc, SIGWINCH runs one full GC (what an idle member would gain from one).
// Measurement only: not part of the server.
"use strict";
const fs = require("node:fs");
const v8 = require("node:v8");
const out = process.env.MEMPROBE_OUT;
if (out) {
  // GC count and time by kind (perf_hooks: 1 minor, 2 major, 4 incremental marking, 8 weak callbacks)
  const gc = {};
  const { PerformanceObserver } = require("node:perf_hooks");
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const k = (e.detail && e.detail.kind) || e.kind;
      const g = (gc[k] ??= [0, 0]);
      g[0]++;
      g[1] += e.duration;
    }
  }).observe({ entryTypes: ["gc"] });
  const line = () => {
    const m = process.memoryUsage();
    const spaces = {};
    for (const s of v8.getHeapSpaceStatistics()) spaces[s.space_name] = [s.space_used_size, s.space_size];
    fs.appendFileSync(out, JSON.stringify({ t: Date.now(), ...m, spaces, gc }) + "\n");
  };
  setInterval(line, 1000).unref();
  if (process.env.MEMPROBE_SAMPLE === "1") {
    const inspector = require("node:inspector");
    const s = new inspector.Session();
    s.connect();
    s.post("HeapProfiler.startSampling", { samplingInterval: Number(process.env.MEMPROBE_INTERVAL || 16384), includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true }, (err) => {
      if (err) fs.appendFileSync(out, JSON.stringify({ samplingError: String(err.message || err) }) + "\n");
    });
    process.on("SIGUSR2", () => {
      s.post("HeapProfiler.getSamplingProfile", (err, r) => {
        fs.writeFileSync(out + ".heapprofile", JSON.stringify(err ? { error: String(err) } : r.profile));
      });
    });
  }
}
if (typeof globalThis.gc === "function") process.on("SIGWINCH", () => globalThis.gc());
