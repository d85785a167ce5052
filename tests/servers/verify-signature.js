// Verifies a Standard Webhooks signature with the reference implementation (npm `standardwebhooks`), so the
// C++ signer is checked against someone else's code, not against itself.
// Usage: node verify-signature.js REQUEST.json   where REQUEST.json = {"secret", "headers": {...}, "body"}
// Prints "verified" and exits 0, or prints the verifier's error and exits 1.
"use strict";
const fs = require("fs");
const path = require("path");

const modules = process.env.EVENTHOOKS_NODE_MODULES || path.join(__dirname, "node_modules");
const { Webhook } = require(path.join(modules, "standardwebhooks"));

const request = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
try {
  new Webhook(request.secret).verify(request.body, request.headers);
  console.log("verified");
} catch (e) {
  console.log(`not verified: ${e.message}`);
  process.exit(1);
}
