/**
 * A config's validation issues as the form shows them, per field: an item of a one-per-line list
 * is named by its line and what it holds, a row's column by its name too (SPEC §5.8).
 * @module
 */
import { chosenBranch, type FormLayout, listItems, type SchemaNode } from "./form.ts";

/** Text quoted in a message, cut short when long. */
const quoted = (text: string) => `‘${text.length > 60 ? `${text.slice(0, 57)}…` : text}’`;

/** A message's first letter in lower case, to follow a colon or a dash. */
const continued = (message: string) => message.replace(/^[A-Z](?![A-Z])/, (c) => c.toLowerCase());

/**
 * The config's validation issues (paths such as `config.internalDomains.2`) as messages per
 * field, for the form: an item of a one-per-line list is named by its line and what it holds
 * ("Line 3: ‘foo’ is not valid — enter a domain such as example.com"), a row's column by its
 * name too.
 */
export function fieldErrors(
  layout: FormLayout,
  raw: Record<string, unknown>,
  issues: { path: string; message: string }[],
): Record<string, string[]> {
  const chosen = chosenBranch(layout, raw);
  const fields = [...(layout.branches.get(chosen) ?? []), ...layout.common];
  const errors: Record<string, string[]> = {};
  for (const issue of issues) {
    const [name, index, column] = issue.path.replace(/^config\.?/, "").split(".");
    const field = fields.find((f) => f.name === name);
    const { schema } = field ?? { schema: {} as SchemaNode };
    const lines = schema.type === "array" && !schema.items?.enum && typeof raw[name] === "string"
      ? listItems(raw[name] as string, schema.items?.type !== "object")
      : undefined;
    const item = lines && index !== undefined && /^\d+$/.test(index)
      ? lines[Number(index)]
      : undefined;
    let message = issue.message;
    if (item && column !== undefined) {
      const columns = Object.keys(schema.items?.properties ?? {});
      const cell = item.text.split("|")[columns.indexOf(column)]?.trim() ?? "";
      message = `Line ${item.line}, ${column}: ${cell ? `${quoted(cell)} is not valid — ` : ""}${
        continued(issue.message)
      }`;
    } else if (item) {
      message = `Line ${item.line}: ${quoted(item.text)} is not valid — ${
        continued(issue.message)
      }`;
    }
    (errors[name || ""] ??= []).push(message);
  }
  return errors;
}
