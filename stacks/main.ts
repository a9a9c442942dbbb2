/**
 * CDKTF entry point (cdktf.json: "app": "npx tsx stacks/main.ts"). Thin on purpose: read the
 * options once (environment, then cdktf context), build the stacks from the topology model, synth.
 */
import { App } from "cdktf";
import { appRoot } from "../ansible-free-scripts/common/paths.js";
import { declareStacks } from "./app.js";
import { readStackOptions } from "./options.js";

const app = new App();
declareStacks(app, readStackOptions(appRoot(), process.env, (key) => app.node.tryGetContext(key)));
app.synth();
