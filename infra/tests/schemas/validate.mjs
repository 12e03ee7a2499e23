// Validate Gateway API and Prometheus Operator objects against the schemas of their
// @kubernetes-models packages: `node validate.mjs NODE_MODULES < objects.json` (a JSON array).
// Prints one line per object; exits 1 if any is invalid or of a kind it has no schema for.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const PACKAGES = {
  "gateway.networking.k8s.io/v1": "@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1",
  "monitoring.coreos.com/v1": "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1",
};

const modules = process.argv[2];
const objects = JSON.parse(readFileSync(0, "utf8"));
let failed = 0;
for (const obj of objects) {
  const name = `${obj.kind}/${obj.metadata?.name}`;
  const pkg = PACKAGES[obj.apiVersion];
  if (!pkg) {
    console.log(`${name}: no schema for ${obj.apiVersion}`);
    failed++;
    continue;
  }
  try {
    const mod = await import(pathToFileURL(join(modules, pkg, `${obj.kind}.js`)).href);
    new mod[obj.kind](obj).validate();
    console.log(`${name}: valid`);
  } catch (err) {
    console.log(`${name}: ${err.message}`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
