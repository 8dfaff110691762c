import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { loadStackConfig, parseStackConfig, type StackConfig, StackConfigError } from "./config.js";
import { Ftp2s3Stack } from "./stack.js";

/**
 * The CDK app. The configuration comes from CDK context `config`: a path to a JSON file
 * (`npx cdk synth -c config=my-config.json`, relative to the current directory) or the object itself
 * (in cdk.json's "context"). Without it, infra/sample-config.json, so `npx cdk synth` works as is.
 */
const SAMPLE_CONFIG = fileURLToPath(new URL("./sample-config.json", import.meta.url));

function readConfig(app: App): StackConfig {
  const value: unknown = app.node.tryGetContext("config");
  if (value === undefined) return loadStackConfig(SAMPLE_CONFIG);
  if (typeof value === "string") return loadStackConfig(resolve(value));
  return parseStackConfig(value, "stack config from CDK context");
}

const app = new App();
try {
  const config = readConfig(app);
  new Ftp2s3Stack(app, config.stackName, {
    config,
    // Environment-agnostic unless the deployer's account and region are known: synth needs no account.
    ...(process.env.CDK_DEFAULT_ACCOUNT
      ? { env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION } }
      : {}),
  });
} catch (error) {
  // A configuration mistake is the user's to fix: one clear line, no stack trace.
  if (error instanceof StackConfigError) {
    console.error(`ftp2s3: ${error.message}`);
    process.exit(1);
  }
  throw error;
}
// cdk-nag's AWS Solutions rules run at synthesis; an unacknowledged error fails `cdk synth`.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
