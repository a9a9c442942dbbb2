/**
 * CDKTF entry point (cdktf.json: "app": "npx tsx stacks/main.ts"). Thin on purpose: read the
 * options once (environment, then cdktf context), make the stacks' certificates (TLS is the
 * default; prepare-pki.ts), build the stacks from the topology model, synth.
 */
import { App } from "cdktf";
import { packageRoot } from "../server/util/package-root.js";
import { declareStacks } from "./app.js";
import { readStackOptions } from "./options.js";
import { prepareStackPki } from "./prepare-pki.js";

const app = new App();
const options = readStackOptions(packageRoot(), process.env, (key) => app.node.tryGetContext(key));
await prepareStackPki(options);
declareStacks(app, options);
app.synth();
