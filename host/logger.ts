/**
 * The host's logger: one JSON object per line, every known secret value scrubbed before the line
 * is written.
 * @module
 */
import type { Redactor } from "./secrets.ts";
import type { Logger } from "./types.ts";

/** A logger writing JSON lines through a redactor; `write` defaults to stderr. */
export function createLogger(
  redactor: Redactor,
  options: {
    write?: (line: string) => void;
    context?: Record<string, unknown>;
    level?: "debug" | "info";
  } = {},
): Logger {
  const write = options.write ?? ((line: string) => console.error(line));
  const at = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    if (level === "debug" && options.level !== "debug") return;
    const line = JSON.stringify({
      time: new Date().toISOString(),
      level,
      message,
      ...options.context,
      ...fields,
    });
    write(redactor.redact(line));
  };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** A logger with extra fields on every line. */
export function childLogger(logger: Logger, context: Record<string, unknown>): Logger {
  const at = (fn: Logger["info"]) => (message: string, fields?: Record<string, unknown>) =>
    fn(message, { ...context, ...fields });
  return {
    debug: at(logger.debug),
    info: at(logger.info),
    warn: at(logger.warn),
    error: at(logger.error),
  };
}
