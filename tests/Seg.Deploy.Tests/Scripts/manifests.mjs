// Reads YAML (rendered Helm manifests, `docker-compose config` output) for the deployment tests, and validates
// Kubernetes objects offline against the JSON schemas that ship in kubernetes-models and @kubernetes-models/keda.
//
//   node manifests.mjs json FILE       prints the file's YAML documents as a JSON array (YAML 1.2 core schema types)
//   node manifests.mjs validate FILE   prints {"objects": [...], "errors": ["Kind/name: message", ...]}
//
// The modules come from SEG_NODE_MODULES (infra/deploy-tools.sh install prints it). Every object must have a schema:
// an apiVersion/kind without one is an error, not a pass.
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const modules = process.env.SEG_NODE_MODULES;
if (!modules) {
  console.error("manifests.mjs: SEG_NODE_MODULES is not set (infra/deploy-tools.sh install prints it)");
  process.exit(2);
}
const load = (path) => import(pathToFileURL(join(modules, path)).href);

// apiVersion -> the folder of its models: core and built-in groups in kubernetes-models, KEDA's and the Prometheus
// Operator's (ServiceMonitor, PodMonitor) in their own packages.
function modelPath(apiVersion, kind) {
  if (apiVersion.startsWith("keda.sh/")) {
    return join("@kubernetes-models/keda", apiVersion, `${kind}.js`);
  }
  if (apiVersion.startsWith("monitoring.coreos.com/")) {
    return join("@kubernetes-models/prometheus-operator", apiVersion, `${kind}.js`);
  }
  return join("kubernetes-models", apiVersion, `${kind}.js`);
}

async function validate(object) {
  const name = `${object?.kind ?? "?"}/${object?.metadata?.name ?? "?"}`;
  if (typeof object?.apiVersion !== "string" || typeof object?.kind !== "string") {
    return `${name}: not a Kubernetes object (no apiVersion or kind)`;
  }
  const path = modelPath(object.apiVersion, object.kind);
  if (!existsSync(join(modules, path))) {
    return `${name}: no schema for ${object.apiVersion} ${object.kind}`;
  }
  const Model = (await load(path))[object.kind];
  try {
    new Model(object).validate();
    return null;
  } catch (error) {
    return `${name}: ${error.message}`;
  }
}

const [command, file] = process.argv.slice(2);
if (!["json", "validate"].includes(command) || !file) {
  console.error("usage: node manifests.mjs json|validate FILE");
  process.exit(2);
}
const { parseAllDocuments } = await load("yaml/dist/index.js");
const documents = parseAllDocuments(readFileSync(file, "utf8"));
const problems = documents.flatMap((d) => d.errors.map((e) => `YAML: ${e.message}`));
if (problems.length > 0) {
  console.error(problems.join("\n"));
  process.exit(1);
}
const objects = documents.map((d) => d.toJS()).filter((o) => o !== null && o !== undefined);
if (command === "json") {
  process.stdout.write(JSON.stringify(objects));
} else {
  const errors = (await Promise.all(objects.map(validate))).filter((e) => e !== null);
  process.stdout.write(JSON.stringify({ objects, errors }));
}
