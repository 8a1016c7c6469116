/**
 * One MTA receipt event to one alert, or null (SPEC §3.8, §4): only receipt-stage rejections
 * (`Act`/`action` = `Rej`) whose reason matches a rule become alerts; accepted mail and other
 * rejections are filtered, and every rejection is counted by reason in the run's notes, so an
 * operator sees what the rules let through and what they drop.
 * @module
 */
import type { Alert, NormalizeContext } from "../../host/types.ts";
import type { Config } from "../config.ts";
import { formatIsoSecond } from "../dates.ts";
import { directionFromRoute, inferDirection } from "../direction.ts";
import { InvalidRecordError } from "../errors.ts";
import { stableId } from "../ids.ts";
import { threatFor } from "../threats.ts";
import { readReceipt } from "./records.ts";
import { RejectionRules } from "./rules.ts";

const compiled = new WeakMap<object, RejectionRules>();

function rulesOf(config: Config): RejectionRules {
  let rules = compiled.get(config);
  if (!rules) compiled.set(config, rules = new RejectionRules(config.rejectionRules));
  return rules;
}

/** What a dropped rejection is counted under: its category, else its reason up to a colon. */
function reasonName(category?: string, info?: string): string {
  const name = category?.trim() || info?.split(":")[0].trim() || "no reason given";
  return name.length > 80 ? `${name.slice(0, 80)}…` : name;
}

/** The alert for a receipt rejection that matches a rule; null for everything else. */
export function rejectionAlert(
  data: Record<string, unknown>,
  ctx: NormalizeContext<Config>,
): Alert | null {
  const event = readReceipt(data);
  if (Array.isArray(event)) throw new InvalidRecordError("rejections", event);
  // Delivery-stage rejections are the next mail server's refusals, never Mimecast's (§3.8).
  if (event.stage !== undefined && event.stage.toLowerCase() !== "receipt") return null;
  if (event.action?.trim().toLowerCase() !== "rej") return null;
  const alertType = rulesOf(ctx.config).alertTypeFor(event.info, event.category);
  if (alertType === undefined) {
    ctx.count(`rejections not alerted: ${reasonName(event.category, event.info)}`);
    return null;
  }
  ctx.count(`rejections alerted: ${alertType}`);
  const threat = threatFor(alertType, "rejections", ctx.config.mapping);
  const email: Alert["email"] = {};
  if (event.from !== undefined) email.from = event.from;
  if (event.to !== undefined) email.to = event.to;
  if (event.subject !== undefined) email.subject = event.subject;
  if (event.messageId !== undefined) email.messageId = event.messageId;
  const rejection: NonNullable<Alert["rejection"]> = {};
  if (event.category !== undefined) rejection.type = event.category;
  if (event.code !== undefined) rejection.code = event.code;
  if (event.info !== undefined) rejection.info = event.info;
  return {
    id: stableId("rejections", event.key),
    alertType,
    threatId: threat.threatId,
    threatName: threat.threatName,
    logType: "rejections",
    occurredAt: formatIsoSecond(event.time),
    direction: directionFromRoute(event.direction) ??
      inferDirection({ from: event.from, to: event.to, senderIp: event.ip }, ctx.config),
    email,
    verdict: "rejected",
    action: "rejected",
    ...(event.ip === undefined ? {} : { sender: { ip: event.ip } }),
    rejection,
    integrationId: ctx.integrationId,
    raw: data,
  };
}
