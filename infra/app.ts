import { App } from "aws-cdk-lib";
import { Ftp2s3Stack } from "./stack.js";

const app = new App();
new Ftp2s3Stack(app, "Ftp2s3", {
  // Environment-agnostic unless the deployer's account and region are known: synth needs no AWS account.
  ...(process.env.CDK_DEFAULT_ACCOUNT
    ? { env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION } }
    : {}),
});
app.synth();
