/**
 * The HTML report opened in headless Debian Chromium: the charts render (every SVG has a non-zero size, the
 * bars, lines and timeline bars have non-zero boxes, in the expected numbers). The measuring script is added
 * to a copy by this test only; the report itself has no script.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { renderHtml } from "../../bench/report-html.js";
import { readResultFile } from "../../bench/result-file.js";
import { packageRoot } from "../../server/util/package-root.js";

const FIXTURE = join(packageRoot(), "test", "bench", "fixtures", "result-v1.json");
const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));

/** Debian's chromium, installed with apt-get when missing (as root, bounded in time); null when it cannot be had. */
function chromium(): string | null {
  if (CHROMIUM) return CHROMIUM;
  if (process.getuid?.() !== 0) return null;
  try {
    execFileSync("bash", ["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium"], { stdio: "ignore", timeout: 300_000 });
  } catch {
    return null;
  }
  return existsSync("/usr/bin/chromium") ? "/usr/bin/chromium" : null;
}

const MEASURE = `<script>
addEventListener("load", () => {
  const box = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const charts = [...document.querySelectorAll("svg.chart")].map((svg) => {
    const r = svg.getBoundingClientRect();
    return {
      kind: svg.dataset.kind,
      w: r.width, h: r.height,
      bars: [...svg.querySelectorAll("rect.bar")].filter(box).length,
      lines: [...svg.querySelectorAll("path.series")].filter((p) => p.getTotalLength() > 0 && p.getBBox().width > 0).length,
      points: [...svg.querySelectorAll("circle.point")].filter(box).length,
      tl: [...svg.querySelectorAll("rect.tl")].filter((el) => el.getBBox().height > 0).length,
      marks: svg.querySelectorAll("line.mark").length,
    };
  });
  const pre = document.createElement("pre");
  pre.id = "measure";
  pre.textContent = JSON.stringify(charts);
  document.body.appendChild(pre);
});
</script>`;

const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"];

function run(bin: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(bin, args, { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
  );
}

test("the HTML report renders its charts in headless Chromium", { timeout: 400_000 }, async (t) => {
  const bin = chromium();
  if (!bin) {
    t.skip("Debian chromium not installed and apt-get install chromium failed");
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "etcdkit-html-"));
  try {
    const html = renderHtml(readResultFile(FIXTURE));
    const page = join(dir, "report.html");
    writeFileSync(page, html.replace("</body>", `${MEASURE}</body>`));
    const dom = await run(bin, [...FLAGS, `--user-data-dir=${join(dir, "profile")}`, "--virtual-time-budget=5000", "--dump-dom", pathToFileURL(page).href]);
    const m = /<pre id="measure">([^<]*)<\/pre>/.exec(dom);
    assert.ok(m, "the page loaded and the measuring script ran");
    const charts = JSON.parse(m[1]!.replace(/&quot;/g, '"').replace(/&amp;/g, "&")) as { kind: string; w: number; h: number; bars: number; lines: number; points: number; tl: number; marks: number }[];
    const of = (k: string) => charts.filter((c) => c.kind === k);
    assert.equal(charts.length, 16);
    for (const c of charts) assert.ok(c.w >= 600 && c.h >= 250, `chart ${c.kind} laid out at ${c.w}×${c.h}`);
    assert.deepEqual(of("throughput").map((c) => c.bars), [4, 4, 4, 4], "2 topologies × 2 servers per workload, every bar visible");
    assert.deepEqual(of("latency").map((c) => c.lines), [4, 4, 4, 4], "a line per server and topology");
    // Short trials have one or two seconds: drawn as points, longer ones as lines.
    assert.ok(of("series").every((c) => c.lines + c.points >= 4), `per-second series drawn ${JSON.stringify(of("series"))}`);
    assert.ok(of("latency").every((c) => c.points === 4 * 5), "5 percentiles per line");
    assert.equal(of("failover").length, 4);
    for (const c of of("failover")) {
      assert.ok(c.tl > 10, `timeline bars drawn (${c.tl})`);
      assert.ok(c.marks >= 3, "fault, first write, restored marks");
    }

    const png = join(dir, "report.png");
    await run(bin, [...FLAGS, `--user-data-dir=${join(dir, "profile2")}`, "--window-size=1400,2000", `--screenshot=${png}`, pathToFileURL(join(dir, "report.html")).href]);
    assert.ok(statSync(png).size > 30_000, "a screenshot with content");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
