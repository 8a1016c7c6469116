/**
 * The stored alerts' filter fields (`summaryOf` in host/store/alerts.ts): read from a normalized
 * alert, and anything missing or not text (plugin output is untrusted) left out.
 */
import { deepStrictEqual } from "node:assert/strict";
import { searchText, summaryOf } from "../../../host/store/alerts.ts";

Deno.test("summaryOf() reads the filter fields and leaves out what is missing or not text", () => {
  const full = summaryOf({
    id: "a1",
    alertType: "Unsafe Email Attachment",
    threatId: "T1598.002",
    email: { from: "Accounts@Supplier.example", to: "finance@acme.example", subject: "Remittance" },
    url: "https://x.example/",
    file: { name: "R.xlsm", sha256: "9b4e" },
  });
  deepStrictEqual(full, {
    alertType: "Unsafe Email Attachment",
    threatId: "T1598.002",
    sender: "Accounts@Supplier.example",
    recipient: "finance@acme.example",
    subject: "Remittance",
    url: "https://x.example/",
    fileName: "R.xlsm",
    hash: "9b4e",
  });
  deepStrictEqual(
    searchText(full),
    "accounts@supplier.example\nfinance@acme.example\nremittance\nhttps://x.example/\nr.xlsm\n9b4e",
  );
  deepStrictEqual(
    summaryOf({
      alertType: "",
      threatId: 7,
      email: null,
      url: ["https://x.example/"],
      file: { name: { toString: () => "x" }, sha256: "" },
    }),
    {},
  );
  deepStrictEqual(summaryOf({ email: "a@b.example", file: "f" }), {});
});
