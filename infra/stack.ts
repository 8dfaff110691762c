import { CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import { LandingBucket } from "./landing-bucket.js";

/**
 * The deployable stack. For now the landing bucket only; the function, its triggers and its
 * permissions arrive with the handler.
 */
export class Ftp2s3Stack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const landing = new LandingBucket(this, "Landing");
    new CfnOutput(this, "BucketName", { value: landing.bucket.bucketName });
  }
}
