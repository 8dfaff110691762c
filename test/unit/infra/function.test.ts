import { Match, type Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../../functions/contracts/index.js";
import { arnOf, logicalId, type Synthesized, synth } from "./synth.js";

/** Replaces the Fn::Join of FTP2S3_CONFIG by text, each reference by a readable sample value. */
function renderJoin(value: unknown, refs: Record<string, string>): string {
  if (typeof value === "string") return value;
  const join = (value as { "Fn::Join"?: [string, unknown[]] })["Fn::Join"];
  if (join === undefined) throw new Error(`unexpected ${JSON.stringify(value)}`);
  return join[1]
    .map((part) => {
      if (typeof part === "string") return part;
      const ref = (part as { Ref?: string }).Ref;
      if (ref === undefined || refs[ref] === undefined) throw new Error(`unexpected ${JSON.stringify(part)}`);
      return refs[ref];
    })
    .join(join[0]);
}

describe("the transfer function", () => {
  let s: Synthesized;
  let template: Template;
  let fnId: string;

  beforeAll(() => {
    s = synth();
    template = s.template;
    fnId = logicalId(s.stack, s.stack.transfer.function);
  });

  it("runs Node.js 22 on arm64 for up to 15 minutes, with the configured memory", () => {
    template.hasResourceProperties("AWS::Lambda::Function", {
      Runtime: "nodejs22.x",
      Architectures: ["arm64"],
      Timeout: 900,
      MemorySize: 1024,
      Handler: "index.handler",
    });
    // No reserved concurrency unless configured.
    expect(template.toJSON().Resources[fnId].Properties.ReservedConcurrentExecutions).toBeUndefined();
  });

  it("logs to its own log group, kept 30 days", () => {
    const logGroupId = logicalId(s.stack, s.stack.transfer.logGroup);
    template.hasResourceProperties("AWS::Logs::LogGroup", { RetentionInDays: 30 });
    template.hasResourceProperties("AWS::Lambda::Function", {
      LoggingConfig: { LogGroup: { Ref: logGroupId } },
    });
  });

  it("gets the Powertools settings, source maps and a small young generation from its environment", () => {
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: "ftp2s3",
          POWERTOOLS_METRICS_NAMESPACE: "ftp2s3",
          POWERTOOLS_LOG_LEVEL: "INFO",
          NODE_OPTIONS: "--enable-source-maps --max-semi-space-size=1",
        }),
      },
    });
  });

  it("gets a FTP2S3_CONFIG that the function's own schema accepts, naming the stack's bucket, queue and secret", () => {
    // Arrange
    const variables = template.toJSON().Resources[fnId].Properties.Environment.Variables;
    const bucketId = logicalId(s.stack, s.stack.landing.bucket);
    const queueId = logicalId(s.stack, s.stack.ingestion.queue);
    const secrets = Object.entries(template.findResources("AWS::SecretsManager::Secret"));
    const idOf = (text: string) =>
      secrets.find(([, r]) => String(r.Properties.Description).includes(text))?.[0] as string;
    const refs = {
      [bucketId]: "landing-bucket-1",
      [queueId]: "https://sqs.eu-west-1.amazonaws.com/123456789012/ingestion",
      [idOf('connection "partner-ftp"')]:
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:partner-AbCdEf",
      [idOf("continuation")]: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:continuation-AbCdEf",
    };

    // Act
    const config = parseConfig(JSON.parse(renderJoin(variables.FTP2S3_CONFIG, refs)));

    // Assert
    expect(config).toEqual({
      bucket: "landing-bucket-1",
      prefix: "ftp/",
      statePrefix: "ftp2s3-state/",
      continuationKeySecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:continuation-AbCdEf",
      queueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/ingestion",
      connections: {
        "partner-ftp": {
          host: "ftp.partner.example.com",
          port: 21,
          user: "ftp2s3",
          anonymous: false,
          secure: "explicit",
          passwordSecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:partner-AbCdEf",
          roots: ["/outbox", "/reports"],
          timeoutSeconds: 30,
          minBytesPerSecond: 1024,
          minRateWindowSeconds: 60,
          allowPrivateAddresses: false,
        },
        "public-mirror": {
          host: "ftp.example.org",
          anonymous: true,
          secure: false,
          roots: ["/pub"],
          timeoutSeconds: 30,
          minBytesPerSecond: 1024,
          minRateWindowSeconds: 60,
          allowPrivateAddresses: false,
        },
      },
      transfer: {
        partSizeMiB: 8,
        queueSize: 4,
        progressIntervalSeconds: 5,
        deadlineMarginSeconds: 30,
        suspendLeadSeconds: 30,
        maxContinuations: 20,
        tagWithSha256: true,
      },
      mirror: { concurrency: 4, inlineFiles: 2000, inlineMiB: 8192 },
      ledger: { historyDays: 90, progressIntervalSeconds: 10, idempotencyWindowHours: 24 },
      events: { busName: "default" },
    });
  });

  it("creates one secret for the connection that logs in with a password, and none for the anonymous one", () => {
    const descriptions = Object.values(template.findResources("AWS::SecretsManager::Secret")).map((r) =>
      String(r.Properties.Description),
    );
    expect(descriptions.filter((d) => d.includes("FTP password"))).toEqual([
      expect.stringContaining('connection "partner-ftp"'),
    ]);
  });

  it("generates the continuation signing key, which only the function's role may read", () => {
    template.hasResourceProperties("AWS::SecretsManager::Secret", {
      Description: Match.stringLikeRegexp("signs the function's continuation messages"),
      GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true, IncludeSpace: false },
    });
    const keyId = logicalId(s.stack, s.stack.continuationKey.secret);
    const readers = Object.values(template.findResources("AWS::IAM::Policy")).filter((p) =>
      JSON.stringify(p.Properties.PolicyDocument).includes(`"Ref":"${keyId}"`),
    );
    expect(readers.map((p) => p.Properties.Roles)).toEqual([
      [{ Ref: logicalId(s.stack, s.stack.transfer.role) }],
    ]);
  });

  it("is reached through a Function URL that only accepts SigV4-signed requests, and outputs its URL", () => {
    template.hasResourceProperties("AWS::Lambda::Url", {
      AuthType: "AWS_IAM",
      InvokeMode: "BUFFERED",
      TargetFunctionArn: arnOf(fnId),
    });
    const urlId = logicalId(s.stack, s.stack.api.url);
    template.hasOutput("FunctionUrl", { Value: { "Fn::GetAtt": [urlId, "FunctionUrl"] } });
    // No resource policy opens the URL: callers need an identity policy in the account.
    template.resourceCountIs("AWS::Lambda::Permission", 0);
  });

  it("offers callers a managed policy with both actions a Function URL call needs", () => {
    template.hasResourceProperties("AWS::IAM::ManagedPolicy", {
      PolicyDocument: {
        Statement: [
          {
            Sid: "InvokeFtp2s3Url",
            Effect: "Allow",
            Action: "lambda:InvokeFunctionUrl",
            Resource: arnOf(fnId),
            Condition: { StringEquals: { "lambda:FunctionUrlAuthType": "AWS_IAM" } },
          },
          {
            Sid: "InvokeFtp2s3ViaUrl",
            Effect: "Allow",
            Action: "lambda:InvokeFunction",
            Resource: arnOf(fnId),
            Condition: { Bool: { "lambda:InvokedViaFunctionUrl": "true" } },
          },
        ],
      },
    });
  });
});

describe("the function settings from the config", () => {
  it("follow memory, reserved concurrency, log retention and log level", () => {
    const { template } = synth((json) => {
      json.function = { memoryMiB: 2048, reservedConcurrency: 10, logRetentionDays: 90, logLevel: "DEBUG" };
    });
    template.hasResourceProperties("AWS::Lambda::Function", {
      MemorySize: 2048,
      ReservedConcurrentExecutions: 10,
      Environment: { Variables: Match.objectLike({ POWERTOOLS_LOG_LEVEL: "DEBUG" }) },
    });
    template.hasResourceProperties("AWS::Logs::LogGroup", { RetentionInDays: 90 });
  });
});
