// Preload (node -r ./profile-on-signal.cjs server.js): the first SIGUSR2 starts V8's CPU profiler, the
// next one stops it and writes <PROFILE_DIR>/<pid>-<n>.cpuprofile. So a profile covers only the load
// (no start-up, no shutdown). PROFILE_INTERVAL_US sets the sampling interval (default 250 µs).
"use strict";
const inspector = require("node:inspector");
const fs = require("node:fs");
const path = require("node:path");

const dir = process.env.PROFILE_DIR || ".";
const interval = Number(process.env.PROFILE_INTERVAL_US || 250);
let session;
let n = 0;
process.on("SIGUSR2", () => {
  if (!session) {
    session = new inspector.Session();
    session.connect();
    session.post("Profiler.enable", () =>
      session.post("Profiler.setSamplingInterval", { interval }, () => session.post("Profiler.start")),
    );
    return;
  }
  const s = session;
  session = undefined;
  s.post("Profiler.stop", (err, res) => {
    if (!err) fs.writeFileSync(path.join(dir, `${process.pid}-${++n}.cpuprofile`), JSON.stringify(res.profile));
    s.disconnect();
  });
});
