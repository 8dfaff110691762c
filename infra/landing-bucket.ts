import { Duration, RemovalPolicy } from "aws-cdk-lib";
import { BlockPublicAccess, Bucket, BucketEncryption } from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";

export interface LandingBucketProps {
  /** Keep objects and the bucket when the stack is deleted. Default: true. */
  retain?: boolean;
}

/**
 * The bucket ftp2s3 writes into. Its lifecycle rule is the backstop of the commit rule: a Lambda
 * killed mid-transfer cannot abort its multipart upload, so S3 does it after a day.
 */
export class LandingBucket extends Construct {
  readonly bucket: Bucket;

  constructor(scope: Construct, id: string, props: LandingBucketProps = {}) {
    super(scope, id);
    const retain = props.retain ?? true;
    this.bucket = new Bucket(this, "Bucket", {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: BucketEncryption.S3_MANAGED,
      lifecycleRules: [
        { id: "abort-incomplete-multipart-uploads", abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      removalPolicy: retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      autoDeleteObjects: !retain,
    });
  }
}
