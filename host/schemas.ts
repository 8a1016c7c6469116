/**
 * The shape every JSON body the API takes is checked against: an object that refuses unknown
 * fields, naming each and the fields it does take (a misspelled field would otherwise be ignored
 * and the request answered as if it had worked).
 * @module
 */
import * as v from "valibot";

/**
 * A valibot strict object whose messages are plain words: an unknown field is named with the
 * fields allowed, a missing one is "required", and a value that is no object says what it must be.
 */
export function strictObject<const E extends v.ObjectEntries>(
  entries: E,
  what = "The request body",
): v.StrictObjectSchema<E, (issue: v.StrictObjectIssue) => string> {
  const fields = Object.keys(entries).join(", ");
  return v.strictObject(entries, (issue: v.StrictObjectIssue) => {
    const path = v.getDotPath(issue) ?? "";
    if (issue.expected === "never") return `Unknown field "${path}": remove it (fields: ${fields})`;
    if (issue.input === undefined && path !== "") return `${path} is required`;
    return `${what} must be a JSON object (fields: ${fields})`;
  });
}
