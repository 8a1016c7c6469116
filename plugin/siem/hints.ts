/**
 * What an operator is told when the SIEM stream cannot be read (SPEC §3.7, §3.8): the permission
 * differs by API version, and a tenant without Enhanced Logging has no MTA files at all.
 * @module
 */
import { MimecastError } from "../errors.ts";

/** The permission the SIEM stream needs, by API version. */
export function siemPermissionHint(apiVersion: "1.0" | "2.0"): string {
  return apiVersion === "2.0"
    ? "On API 2.0 the role belongs to the API application, not a user: give the API application's role Security Events and Data Retrieval > Threat and Security Events (SIEM) > Read, and the application the product Threats, Security Events and Data for CG."
    : "The service user's role lacks the SIEM permission: grant Gateway > Tracking > Read.";
}

/** No MTA file at all: the account does not write the logs. */
export const ENHANCED_LOGGING_HINT =
  "Mimecast has no MTA log file for this account: turn on Enhanced Logging (Inbound, Outbound and Internal) under Administration > Account > Account Settings (newer consoles: Syslog Settings); files appear within 30 minutes.";

/** The error with the SIEM permission hint when it is a permission refusal; unchanged otherwise. */
export function withSiemHint(error: unknown, apiVersion: "1.0" | "2.0"): unknown {
  if (!(error instanceof MimecastError) || error.code !== "FORBIDDEN") return error;
  return new MimecastError("FORBIDDEN", error.message, {
    status: error.status,
    mimecastCode: error.mimecastCode,
    cause: error,
    hint: siemPermissionHint(apiVersion),
  });
}
