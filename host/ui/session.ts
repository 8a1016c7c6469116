/**
 * UI sessions: a login with the admin token gives an HttpOnly, SameSite=Strict session cookie and
 * a CSRF token that every form post must carry. Sessions live in memory (a restart logs you out)
 * and expire after 12 hours.
 * @module
 */
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { Context } from "hono";
import { timingSafeEqual } from "node:crypto";

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

/** The in-memory session table. */
export class Sessions {
  #sessions = new Map<string, Session>();
  #now: () => number;
  #secure: boolean;

  /** `secure` marks every cookie `Secure` (HOST_SECURE_COOKIES, behind a TLS-terminating proxy). */
  constructor(now: () => number = Date.now, options: { secure?: boolean } = {}) {
    this.#now = now;
    this.#secure = options.secure ?? false;
  }

  /** Starts a session and sets its cookie. */
  create(c: Context): Session {
    const session = { id: random(), csrf: random(), expires: this.#now() + TTL_MS };
    this.#sessions.set(session.id, session);
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
  get(c: Context): Session | undefined {
    const id = getCookie(c, COOKIE);
    const session = id ? this.#sessions.get(id) : undefined;
    if (!session) return undefined;
    if (session.expires < this.#now()) {
      this.#sessions.delete(session.id);
      return undefined;
    }
    return session;
  }

  /** Ends the request's session. */
  destroy(c: Context): void {
    const id = getCookie(c, COOKIE);
    if (id) this.#sessions.delete(id);
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
