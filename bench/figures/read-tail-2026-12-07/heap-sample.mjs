// Preload: SIGUSR2 starts V8's sampling heap profiler counting objects the GC already collected too;
// a second SIGUSR2 writes the profile to $HEAP_SAMPLE_OUT.
import { Session } from "node:inspector";
import { writeFileSync } from "node:fs";
const s = new Session();
s.connect();
let on = false;
process.on("SIGUSR2", () => {
  if (!on) {
    on = true;
    s.post("HeapProfiler.enable", () =>
      s.post("HeapProfiler.startSampling", { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true }, (e) => e && console.error("start", e)));
  } else {
    s.post("HeapProfiler.stopSampling", (e, r) => {
      if (e) return console.error("stop", e);
      writeFileSync(process.env.HEAP_SAMPLE_OUT ?? "/tmp/heap.heapprofile", JSON.stringify(r.profile));
      console.error("heap sample written");
    });
  }
});
