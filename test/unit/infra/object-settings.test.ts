import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../../../infra/config.js";
import { checkFunctionConfig } from "../../../infra/function-config.js";
import { type ConfigJson, sampleConfigJson, synth, synthError } from "./synth.js";

type Statement = { Sid?: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

const KEY_A = "arn:aws:kms:eu-west-1:123456789012:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0";
const KEY_B = "arn:aws:kms:eu-west-1:123456789012:key/9f8e7d6c-5b4a-3928-1706-f5e4d3c2b1a0";

/** Every statement of the function's policy. */
function policyStatements(edit?: (json: ConfigJson) => void): Statement[] {
  const { stack, template } = synth(edit);
  const id = stack.getLogicalId(stack.accessPolicy.policy.node.defaultChild as never);
  return template.toJSON().Resources[id].Properties.PolicyDocument.Statement;
}

function actionsOf(statements: Statement[]): string[] {
  return statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
}

describe("object settings in the stack", () => {
  it("grant no KMS key and no retention when no connection asks for them", () => {
    const statements = policyStatements();

    expect(statements.map((s) => s.Sid)).not.toContain("UseObjectKeysThroughS3");
    expect(actionsOf(statements)).not.toContain("s3:PutObjectRetention");
    expect(actionsOf(statements).filter((a) => a.startsWith("kms:"))).toEqual([]);
  });

  it("grant kms:GenerateDataKey and kms:Decrypt on the configured keys only, through S3, and retention when set", () => {
    const statements = policyStatements((json) => {
      json.connections["partner-ftp"].object = {
        kmsKeyId: KEY_B,
        retention: { mode: "GOVERNANCE", days: 30 },
        storageClass: "STANDARD_IA",
      };
      json.connections["public-mirror"].object = { kmsKeyId: KEY_A, bucketKeyEnabled: false };
    });

    expect(statements.find((s) => s.Sid === "UseObjectKeysThroughS3")).toEqual({
      Sid: "UseObjectKeysThroughS3",
      Effect: "Allow",
      Action: ["kms:Decrypt", "kms:GenerateDataKey"],
      Resource: [KEY_A, KEY_B],
      Condition: {
        StringEquals: {
          "kms:ViaService": { "Fn::Join": ["", ["s3.", { Ref: "AWS::Region" }, ".amazonaws.com"]] },
        },
      },
    });
    const retention = statements.find((s) => s.Sid === "RetentionUnderPrefix");
    expect(retention?.Action).toBe("s3:PutObjectRetention");
    expect(JSON.stringify(retention?.Resource)).toContain("/ftp/*");
  });

  it("write the connection's object settings through to the function's config", () => {
    const json = sampleConfigJson();
    json.connections["partner-ftp"].object = {
      metadata: { origin: "{connection}:{path}" },
      tags: { file: "{name}" },
    };

    const config = checkFunctionConfig(parseStackConfig(json, "test config"));

    expect(config.connections["partner-ftp"]?.object).toEqual({
      metadata: { origin: "{connection}:{path}" },
      tags: { file: "{name}" },
    });
  });

  it.each([
    ["an alias instead of a key ARN", { kmsKeyId: "alias/ftp2s3" }, /must be a KMS key ARN/],
    ["an unknown storage class", { storageClass: "COLD" }, /storageClass/],
    ["an unknown template field", { tags: { owner: "{user}" } }, /"\{user\}" is not one of/],
    ["a metadata name of ours", { metadata: { "source-url": "x" } }, /is ftp2s3's own/],
    [
      "more than 10 tags",
      { tags: Object.fromEntries([...Array(11).keys()].map((i) => [`t${i}`, "v"])) },
      /11 tags/,
    ],
    ["a retention of 0 days", { retention: { mode: "GOVERNANCE", days: 0 } }, /days/],
  ])("refuse %s at synth time", (_, object, message) => {
    expect(
      synthError((json) => {
        json.connections["partner-ftp"].object = object;
      }),
    ).toMatch(message);
  });

  it("refuse a key or a retention on a mirror job: they are the connection's", () => {
    expect(
      synthError((json) => {
        json.mirrors[0].object = { kmsKeyId: KEY_A };
      }),
    ).toMatch(/kmsKeyId/);
  });
});
