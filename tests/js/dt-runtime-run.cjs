// Runs one task in the real Dynatrace JavaScript runtime (@dynatrace/js-runtime, napi) in its
// own process, so the emulator in the test process keeps serving while the task runs.
// stdin: {"file", "payload", "config"?, "timeoutSeconds"?, "unsafeEval"?}
// stdout: one JSON line {"ok": true, "result", "memory"} or {"ok": false, "error", "memory"}. The
// runtime's own warnings go to stderr. `memory`: this process's RSS in KiB once the runtime is
// loaded (`rssBeforeKb`) and its peak RSS over the whole run (`maxRssKb`, getrusage ru_maxrss):
// the runtime runs in-process (napi), so the peak is Node + the runtime's isolate + the task;
// `cpuUserMs`/`cpuSystemMs`: the process's CPU time during the task (all threads).
"use strict";
const fs = require("node:fs");
const path = require("node:path");

let input = "";
process.stdin.on("data", (c) => (input += c));
process.stdin.on("end", async () => {
  const job = JSON.parse(input);
  const rt = require(require.resolve("@dynatrace/js-runtime/runtime", { paths: [process.cwd()] }));
  const file = path.resolve(job.file);
  const task = {
    cwd: path.dirname(file),
    urlPathname: "/api/dps-cost",
    scriptName: path.basename(file),
    code: fs.readFileSync(file),
    payload: JSON.stringify(job.payload ?? {}),
    timeoutSeconds: job.timeoutSeconds ?? 60,
    functionSandbox: { "unsafe-eval": job.unsafeEval ?? false },
    config: {
      appId: "local.dps-cost.test",
      appName: "dps-cost test",
      appVersion: "0.0.0",
      devProxyUrl: "http://127.0.0.1:9",
      environmentUrl: "http://127.0.0.1:9",
      token: "none",
      tenantId: "test",
      userDetails: { id: "test", name: "test", email: "test@example.invalid" },
      ...(job.config ?? {}),
    },
  };
  const rssBeforeKb = Math.round(process.memoryUsage.rss() / 1024);
  const cpu0 = process.cpuUsage();
  const memory = () => {
    const cpu = process.cpuUsage(cpu0);
    return { rssBeforeKb, maxRssKb: process.resourceUsage().maxRSS, cpuUserMs: Math.round(cpu.user / 1000), cpuSystemMs: Math.round(cpu.system / 1000) };
  };
  try {
    const result = await rt.executeFunctionLocal(task);
    process.stdout.write(JSON.stringify({ ok: true, result, memory: memory() }) + "\n");
  } catch (e) {
    process.stdout.write(JSON.stringify({ ok: false, error: String(e && e.message ? e.message : e), memory: memory() }) + "\n");
  }
});
