/**
 * From `HOST_DATABASE_URL` to postgres.js options. The URL is read here rather than by
 * postgres.js, which does not take libpq's socket form (`?host=/run/postgresql`): that form
 * becomes its `path` option. The password never appears in what `describe` returns.
 * @module
 */
import type postgres from "postgres";

/** postgres.js options for a `postgres://` (or `postgresql://`) URL. */
export function connectionOptions(url: string): postgres.Options<Record<string, never>> {
  const parsed = new URL(url);
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new Error(
      `Cannot use the database URL: it starts with ${parsed.protocol}, not postgres://`,
    );
  }
  const port = Number(parsed.port || 5432);
  const socketDir = parsed.searchParams.get("host");
  const ssl = parsed.searchParams.get("sslmode");
  return {
    host: socketDir ? undefined : decodeURIComponent(parsed.hostname || "localhost"),
    port,
    path: socketDir ? `${socketDir}/.s.PGSQL.${port}` : undefined,
    database: decodeURIComponent(parsed.pathname.slice(1)) || undefined,
    username: decodeURIComponent(parsed.username) || undefined,
    password: decodeURIComponent(parsed.password) || undefined,
    ssl: ssl === "require" || ssl === "verify-full"
      ? (ssl === "require" ? "require" : "verify-full")
      : undefined,
    max: Number(parsed.searchParams.get("max") ?? 10),
    connect_timeout: 10,
    idle_timeout: 60,
    // PostgreSQL's NOTICEs (e.g. "relation already exists, skipping") are not the host's news.
    onnotice: () => {},
  };
}

/** The database's address for messages: user, host, port and name, never the password. */
export function describe(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = "";
    return parsed.toString();
  } catch {
    return "(an unreadable URL)";
  }
}
