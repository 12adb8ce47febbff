// Independent verifier of Standard Webhooks deliveries for the Go tests:
// the specification authors' npm package (standardwebhooks) for v1
// signatures and Node's own crypto for v1a. Reads one JSON request on
// stdin: {"op": "verify"|"sign", ...}; writes one JSON answer.
"use strict";
const crypto = require("crypto");
const { Webhook } = require("standardwebhooks");

let input = "";
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", () => {
  const req = JSON.parse(input);
  const out = {};
  try {
    if (req.op === "sign") {
      out.signature = new Webhook(req.secret).sign(req.id, new Date(req.timestamp * 1000), req.payload);
    } else {
      if (req.secret) {
        try {
          new Webhook(req.secret).verify(req.payload, req.headers);
          out.v1 = true;
        } catch (e) {
          out.v1 = false;
          out.v1error = String(e.message);
        }
      }
      if (req.publicKey) {
        const raw = Buffer.from(req.publicKey.replace(/^whpk_/, ""), "base64");
        const spki = Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), raw]);
        const key = crypto.createPublicKey({ key: spki, format: "der", type: "spki" });
        const content = Buffer.from(`${req.headers["webhook-id"]}.${req.headers["webhook-timestamp"]}.${req.payload}`);
        out.v1a = req.headers["webhook-signature"].split(" ").some((p) => {
          const [v, s] = p.split(",");
          return v === "v1a" && crypto.verify(null, content, key, Buffer.from(s || "", "base64"));
        });
      }
    }
  } catch (e) {
    out.error = String(e.message);
  }
  process.stdout.write(JSON.stringify(out));
});
