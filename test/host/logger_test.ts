import { equal } from "node:assert/strict";
import { createLogger } from "../../host/logger.ts";
import { Redactor } from "../../host/secrets.ts";

/** Every string in a value, and in any string that is itself JSON (a logged request body). */
function stringsIn(value: unknown): string[] {
  if (typeof value === "string") {
    try {
      const inner = JSON.parse(value);
      if (typeof inner === "object" && inner !== null) return [value, ...stringsIn(inner)];
    } catch { /* plain text */ }
    return [value];
  }
  if (value && typeof value === "object") return Object.values(value).flatMap(stringsIn);
  return [];
}

Deno.test("the logger scrubs secrets holding quotes, backslashes or control characters, escaped or not", () => {
  const secrets = ['pa"ss-word-1', "back\\slash\\secret", "tab\tand\nnewline", "bell\u0007-ctl"];
  const redactor = new Redactor();
  redactor.add(secrets);
  const lines: string[] = [];
  const logger = createLogger(redactor, { write: (line) => lines.push(line) });
  for (const secret of secrets) {
    logger.error(`Cannot log in with ${secret}`, {
      error: `refused: ${secret}`,
      body: JSON.stringify({ secret }),
      nested: { list: [secret, JSON.stringify([JSON.stringify({ secret })])] },
    });
  }
  equal(lines.length, secrets.length);
  for (const line of lines) {
    const parsed = JSON.parse(line);
    const strings = stringsIn(parsed);
    for (const secret of secrets) {
      const escaped = JSON.stringify(secret).slice(1, -1);
      equal(line.includes(secret) || line.includes(escaped), false, line);
      for (const text of strings) equal(text.includes(secret), false, `${text} in ${line}`);
    }
    equal(String(parsed.message).includes("[redacted]"), true, line);
    equal(parsed.nested.list[0], "[redacted]", line);
  }
});

Deno.test("a secret inside a longer one does not leave the longer one half scrubbed", () => {
  const redactor = new Redactor();
  redactor.add(["inner-secret", "outer-inner-secret-tail"]);
  equal(redactor.redact("x outer-inner-secret-tail y"), "x [redacted] y");
});
