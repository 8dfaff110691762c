import { Annotations, Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { logicalId, type Synthesized, synth } from "./synth.js";

describe("the landing bucket, created by the stack", () => {
  let s: Synthesized;

  beforeAll(() => {
    s = synth();
  });

  it("aborts incomplete multipart uploads after one day, the backstop of the commit rule", () => {
    s.template.hasResourceProperties("AWS::S3::Bucket", {
      LifecycleConfiguration: {
        Rules: [
          {
            Id: "abort-incomplete-multipart-uploads",
            Status: "Enabled",
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
          },
        ],
      },
    });
  });

  it("blocks public access, enforces bucket-owner objects and encrypts with S3-managed keys", () => {
    s.template.hasResourceProperties("AWS::S3::Bucket", {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: "BucketOwnerEnforced" }] },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
      },
    });
  });

  it("refuses requests without TLS", () => {
    const bucketId = logicalId(s.stack, s.stack.landing.bucket);
    s.template.hasResourceProperties("AWS::S3::BucketPolicy", {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
        ]),
      },
    });
  });

  it("is kept, unversioned, when the stack is deleted", () => {
    const [bucket] = Object.values(s.template.findResources("AWS::S3::Bucket"));
    expect(bucket?.DeletionPolicy).toBe("Retain");
    expect(bucket?.Properties.VersioningConfiguration).toBeUndefined();
    s.template.resourceCountIs("Custom::S3AutoDeleteObjects", 0);
  });
});

describe("the landing bucket with KMS, versioning and access logs", () => {
  it("encrypts with a rotated key of its own and a bucket key, keeps versions and logs access", () => {
    const { template } = synth((json) => {
      json.bucket = {
        name: "acme-ftp-landing",
        encryption: "KMS",
        versioned: true,
        accessLogs: { bucketName: "acme-access-logs" },
      };
    });
    template.hasResourceProperties("AWS::KMS::Key", { EnableKeyRotation: true });
    template.hasResourceProperties("AWS::S3::Bucket", {
      BucketName: "acme-ftp-landing",
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            ServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms", KMSMasterKeyID: Match.anyValue() },
            BucketKeyEnabled: true,
          },
        ],
      },
      VersioningConfiguration: { Status: "Enabled" },
      LoggingConfiguration: { DestinationBucketName: "acme-access-logs", LogFilePrefix: "ftp2s3/" },
    });
  });
});

describe("an existing bucket", () => {
  it("is imported by name, not created, and the stack warns that its lifecycle rule is the owner's job", () => {
    const { stack, template } = synth((json) => {
      json.bucket = { name: "acme-existing", existing: true, prefix: "ftp/" };
    });
    template.resourceCountIs("AWS::S3::Bucket", 0);
    template.hasOutput("BucketName", { Value: "acme-existing" });
    Annotations.fromStack(stack).hasWarning(
      "/Test/Landing",
      Match.stringLikeRegexp("abort.*incomplete multipart uploads after 1 day"),
    );
  });
});
