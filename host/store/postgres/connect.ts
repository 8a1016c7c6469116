/**
 * From `HOST_DATABASE_URL` to postgres.js options. The URL is read here rather than by
 * postgres.js (or the WHATWG URL parser), neither of which takes libpq's socket forms
 * (`postgres://user@/db?host=/run/postgresql`, `postgresql:///db?host=...`): a `host` query
 * parameter that is a folder becomes postgres.js's `path` option. The password never appears in
 * what `describe` returns.
 * @module
 */
import type postgres from "postgres";

/** The parts of a `postgres://` URL. */
interface UrlParts {
  scheme: string;
  user: string;
  password: string | undefined;
  host: string;
  port: number;
  database: string;
  query: URLSearchParams;
}

const URL_FORM =
  /^(postgres(?:ql)?):\/\/(?:([^:@/]*)(?::([^@/]*))?@)?(\[[^\]]*\]|[^:/?]*)(?::(\d+))?(?:\/([^?]*))?(?:\?(.*))?$/;

/** Splits a database URL; throws with what is wrong when it is not one. */
function parse(url: string): UrlParts {
  const m = URL_FORM.exec(url.trim());
  if (!m) {
    throw new Error(
      "Cannot use the database URL: expected postgres://user:password@host:5432/database",
    );
  }
  const query = new URLSearchParams(m[7] ?? "");
  return {
    scheme: m[1],
    user: decodeURIComponent(m[2] ?? ""),
    password: m[3] === undefined ? undefined : decodeURIComponent(m[3]),
    host: decodeURIComponent(m[4]),
    port: Number(m[5] ?? query.get("port") ?? 5432),
    database: decodeURIComponent(m[6] ?? ""),
    query,
  };
}

/** postgres.js options for a `postgres://` (or `postgresql://`) URL. */
export function connectionOptions(url: string): postgres.Options<Record<string, never>> {
  const parts = parse(url);
  const queryHost = parts.query.get("host") ?? undefined;
  const socketDir = queryHost?.startsWith("/") ? queryHost : undefined;
  const sslmode = parts.query.get("sslmode");
  return {
    host: socketDir ? undefined : (parts.host || queryHost || "localhost"),
    port: parts.port,
    path: socketDir ? `${socketDir}/.s.PGSQL.${parts.port}` : undefined,
    database: parts.database || parts.query.get("dbname") || undefined,
    username: parts.user || parts.query.get("user") || undefined,
    password: parts.password || parts.query.get("password") || undefined,
    ssl: sslmode === "require" || sslmode === "verify-full" ? sslmode : undefined,
    max: Number(parts.query.get("max") ?? 10),
    connect_timeout: 10,
    idle_timeout: 60,
    // PostgreSQL's NOTICEs ("relation already exists, skipping") are not the host's news.
    onnotice: () => {},
  };
}

/** The database's address for messages: user, host, port and name, never the password. */
export function describe(url: string): string {
  try {
    const p = parse(url);
    const where = p.query.get("host")?.startsWith("/") ? p.query.get("host") : p.host;
    return `${p.scheme}://${p.user ? `${p.user}@` : ""}${where}:${p.port}/${p.database}`;
  } catch {
    return "(an unreadable URL)";
  }
}
