/**
 * UI sessions: a login with the admin token gives an HttpOnly, SameSite=Strict session cookie and
 * a CSRF token that every form post must carry. Sessions are kept in the database (only a hash of
 * their id), so a restart keeps operators logged in; they expire after 12 hours, and a logout
 * deletes its row.
 * @module
 */
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { Context } from "hono";
import { timingSafeEqual } from "node:crypto";
import type { SessionStoreContract } from "../store/mod.ts";

const COOKIE = "host_session";
const TTL_MS = 12 * 3_600_000;

/** A logged-in session. */
export interface Session {
  id: string;
  csrf: string;
  expires: number;
}

const random = () =>
  btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(24)))).replace(/[+/=]/g, "");

/** The console's sessions, over their table. */
export class Sessions {
  #store: Pick<SessionStoreContract, "add" | "get" | "delete">;
  #now: () => number;
  #secure: boolean;

  /** `secure` marks every cookie `Secure` (HOST_SECURE_COOKIES, behind a TLS-terminating proxy). */
  constructor(
    store: Pick<SessionStoreContract, "add" | "get" | "delete">,
    now: () => number = Date.now,
    options: { secure?: boolean } = {},
  ) {
    this.#store = store;
    this.#now = now;
    this.#secure = options.secure ?? false;
  }

  /** Starts a session and sets its cookie. */
  async create(c: Context): Promise<Session> {
    const now = this.#now();
    const session = { id: random(), csrf: random(), expires: now + TTL_MS };
    await this.#store.add(session.id, { csrf: session.csrf, expiresMs: session.expires }, now);
    setCookie(c, COOKIE, session.id, {
      httpOnly: true,
      sameSite: "Strict",
      path: "/",
      // Behind a proxy that terminates TLS the request arrives as http: the setting says https.
      secure: this.#secure || new URL(c.req.url).protocol === "https:",
      maxAge: TTL_MS / 1000,
    });
    return session;
  }

  /** The request's live session, if any. */
  async get(c: Context): Promise<Session | undefined> {
    const id = getCookie(c, COOKIE);
    const stored = id ? await this.#store.get(id) : undefined;
    if (!id || !stored) return undefined;
    if (stored.expiresMs < this.#now()) {
      await this.#store.delete(id);
      return undefined;
    }
    return { id, csrf: stored.csrf, expires: stored.expiresMs };
  }

  /** Ends the request's session. */
  async destroy(c: Context): Promise<void> {
    const id = getCookie(c, COOKIE);
    if (id) await this.#store.delete(id);
    deleteCookie(c, COOKIE, { path: "/" });
  }
}

/** True when a submitted CSRF token matches the session's, compared in constant time. */
export function csrfMatches(session: Session, submitted: unknown): boolean {
  if (typeof submitted !== "string" || submitted.length !== session.csrf.length) return false;
  return timingSafeEqual(
    new TextEncoder().encode(submitted),
    new TextEncoder().encode(session.csrf),
  );
}
