/**
 * The rejections stream's cost (SPEC §3.8, §6): one SIEM receipt file of about 5 MB and one of
 * about 50 MB of NDJSON, over API 2.0 (gzip NDJSON links) and API 1.0 (a zip of one JSON
 * document), read by the plugin in its own process (bench/siem_run.ts) from the simulator in
 * another. Prints events/s and peak RSS: memory must not grow with the file's size.
 * `deno run -A bench/siem.ts [5 50]`
 * @module
 */
const ROOT = new URL("../", import.meta.url).pathname;

async function lineOf(stream: ReadableStream<Uint8Array>, pattern: RegExp): Promise<string> {
  let text = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    text += chunk;
    const match = pattern.exec(text);
    if (match) return match[1];
  }
  throw new Error(`the simulator never printed ${pattern}: ${text}`);
}

/** The V8 flags `deno task start` runs the host with, so the plugin is measured as it runs. */
async function startFlags(): Promise<string[]> {
  const tasks = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).tasks;
  return /--v8-flags=\S+/.exec(tasks.start)?.slice(0, 1) ?? [];
}

async function measure(megabytes: number) {
  const sim = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "fixtures/simulator/serve.ts",
      "--generate",
      "0",
      "--siem-files",
      "1",
      "--siem-file-mb",
      String(megabytes),
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    const url = await lineOf(sim.stdout, /listening on (http:\/\/\S+)/);
    const rows = [];
    for (const apiVersion of ["2.0", "1.0"]) {
      const { stdout, success } = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", ...await startFlags(), "bench/siem_run.ts", url, apiVersion],
        cwd: ROOT,
        stdout: "piped",
        stderr: "inherit",
      }).output();
      if (!success) throw new Error(`bench/siem_run.ts failed for API ${apiVersion}`);
      const result = JSON.parse(new TextDecoder().decode(stdout).trim().split("\n").at(-1)!);
      rows.push({ megabytes, apiVersion, ...result });
    }
    return rows;
  } finally {
    sim.kill("SIGTERM");
    await sim.status;
  }
}

if (import.meta.main) {
  const sizes = Deno.args.length > 0 ? Deno.args.map(Number) : [5, 50];
  const rows = [];
  for (const size of sizes) {
    console.error(`measuring a ${size} MB SIEM file ...`);
    rows.push(...await measure(size));
  }
  console.log(
    "| file (NDJSON) | API | events | alerts | seconds | events/s | peak RSS MiB | peak heap MiB |\n|---|---|---|---|---|---|---|---|",
  );
  for (const r of rows) {
    console.log(
      `| ${r.megabytes} MB | ${r.apiVersion} | ${r.events.toLocaleString("en")} | ${
        r.alerts.toLocaleString("en")
      } | ${r.seconds.toFixed(2)} | ${Math.round(r.events / r.seconds).toLocaleString("en")} | ${
        r.peakRssMiB.toFixed(1)
      } | ${r.peakHeapMiB.toFixed(1)} |`,
    );
  }
}
