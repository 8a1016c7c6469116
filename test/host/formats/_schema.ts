/** The compiled OCSF Detection Finding schema (fixtures/ocsf/) as an ajv validator. */
import { Ajv } from "ajv";
import { OCSF_VERSION } from "../../../host/formats/mod.ts";

const SCHEMA = new URL(
  `../../../fixtures/ocsf/detection_finding-${OCSF_VERSION}.schema.json`,
  import.meta.url,
);

// Strict, except that `required` inside the constraints' anyOf names properties declared beside it.
const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });
const validate = ajv.compile(JSON.parse(await Deno.readTextFile(SCHEMA)));

/** Every way `finding` breaks the OCSF schema, as `path: message` lines (empty when it fits). */
export function schemaProblems(finding: unknown): string[] {
  if (validate(finding)) return [];
  return (validate.errors ?? []).map((e) =>
    `${e.instancePath || "/"}: ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ""}`
  );
}
