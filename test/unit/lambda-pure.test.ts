import { describe, expect, it } from "vitest";
import { continuationKeyFrom } from "../../functions/adapters/continuation-key.js";
import { passwordFromSecret } from "../../functions/adapters/passwords.js";
import {
  continuationSchema,
  isStateKey,
  keySpaceOf,
  parseConfig,
  resumePointSchema,
} from "../../functions/contracts/index.js";
import type { ErrorCode } from "../../functions/core/index.js";
import { httpStatusOf } from "../../functions/lambda/api.js";
import {
  assertSignedContinuation,
  canonicalContinuation,
  SIGNED_CONTINUATION_FIELDS,
  SIGNED_RESUME_POINT_FIELDS,
  type SignedFields,
  signContinuation,
} from "../../functions/lambda/continuation-signature.js";
import { queuedRequest, triggerOf } from "../../functions/lambda/event-kind.js";

describe("triggerOf", () => {
  it("recognises each trigger by the shape of its event", () => {
    expect(triggerOf({ requestContext: { http: { method: "POST" } } })).toBe("api");
    expect(triggerOf({ Records: [{ eventSource: "aws:sqs" }] })).toBe("queue");
    expect(triggerOf({ mirror: {} })).toBe("schedule");
    expect(triggerOf({ "detail-type": "Scheduled Event", detail: { mirror: {} } })).toBe("schedule");
  });

  it.each([null, {}, { Records: [] }, { Records: [{ eventSource: "aws:s3" }] }, "text"])(
    "refuses %j",
    (event) => {
      expect(() => triggerOf(event)).toThrow(/unrecognised event/);
    },
  );
});

describe("queuedRequest", () => {
  it("unwraps an EventBridge 'FTP File Available' event and takes a plain request as it is", () => {
    expect(queuedRequest('{"detail-type":"FTP File Available","detail":{"path":"/a"}}')).toEqual({
      input: { path: "/a" },
      fromEvent: true,
    });
    expect(queuedRequest('{"path":"/a"}')).toEqual({ input: { path: "/a" }, fromEvent: false });
  });
});

describe("httpStatusOf", () => {
  it.each<[ErrorCode | "INTERNAL", number | undefined, number]>([
    ["INVALID_INPUT", undefined, 400],
    ["NOT_ALLOWED", undefined, 403],
    ["FTP_REPLY", 550, 404],
    ["FTP_REPLY", 426, 502],
    ["OBJECT_EXISTS", undefined, 409],
    ["SIZE_MISMATCH", undefined, 502],
    ["S3", undefined, 502],
    ["TIMEOUT", undefined, 504],
    ["ABORTED", undefined, 500],
  ])("%s (FTP %s) is %i", (code, ftpCode, status) => {
    expect(httpStatusOf(code, ftpCode)).toBe(status);
  });
});

describe("passwordFromSecret", () => {
  it("takes a plain string, or the password field of JSON", () => {
    expect(passwordFromSecret("s3cret", "arn")).toBe("s3cret");
    expect(passwordFromSecret('{"username":"u","password":"p4ss"}', "arn")).toBe("p4ss");
    expect(passwordFromSecret("{not json", "arn")).toBe("{not json");
  });

  it("refuses JSON without a password, never quoting the secret", () => {
    expect(() => passwordFromSecret('{"pass":"hunter2"}', "arn:x")).toThrow(
      expect.objectContaining({ message: 'the secret arn:x is JSON without a "password" field' }),
    );
  });
});

describe("the Lambda configuration", () => {
  const base = {
    bucket: "bkt",
    connections: { p: { host: "h", user: "u", passwordSecretArn: "arn", roots: ["/out"] } },
  };

  it("fills in the defaults", () => {
    expect(parseConfig(base)).toMatchObject({
      prefix: "",
      statePrefix: "ftp2s3-state/",
      connections: { p: { secure: "explicit", anonymous: false, timeoutSeconds: 30 } },
      transfer: { partSizeMiB: 8, queueSize: 4, deadlineMarginSeconds: 30, tagWithSha256: true },
    });
  });

  it.each([
    [{ ...base, prefix: "/abs/" }, 'prefix: must not start with "/"'],
    [
      { ...base, connections: { p: { host: "h", roots: ["/out"] } } },
      'give either "user" or "anonymous": true',
    ],
    [{ ...base, connections: { p: { host: "h", user: "u", roots: ["/out"] } } }, 'needs "passwordSecretArn"'],
    [{ ...base, connections: { p: { host: "h", anonymous: true, roots: [] } } }, "connections.p.roots"],
    [
      { ...base, connections: { p: { host: "h", anonymous: true, roots: ["out"] } } },
      "must be an absolute path",
    ],
    [
      { ...base, connections: { p: { ...base.connections.p, keyPrefix: "../up/" } } },
      'connections.p.keyPrefix: must not have "." or ".." segments',
    ],
    [
      {
        ...base,
        connections: { p: base.connections.p, q: { ...base.connections.p, keyPrefix: "p/q/" } },
      },
      'connections.p.keyPrefix: key space "p/" overlaps connection "q"\'s "p/q/"',
    ],
    [
      { ...base, connections: { p: { ...base.connections.p, keyPrefix: "ftp2s3-state/" } } },
      'key space "ftp2s3-state/" overlaps the state prefix "ftp2s3-state/"',
    ],
    [{ ...base, statePrefix: "p/state/" }, 'key space "p/" overlaps the state prefix "p/state/"'],
  ])("refuses %j naming the field", (config, message) => {
    expect(() => parseConfig(config)).toThrow(message);
  });

  it("gives each connection a key space below the prefix, and fences off the state prefix", () => {
    const config = parseConfig({
      ...base,
      prefix: "ftp2s3/",
      connections: { p: base.connections.p, q: { ...base.connections.p, keyPrefix: "partners/q/" } },
    });

    expect(keySpaceOf(config, "p")).toBe("ftp2s3/p/");
    expect(keySpaceOf(config, "q")).toBe("ftp2s3/partners/q/");
    expect(isStateKey(config, "ftp2s3-state/m.json")).toBe(true);
    expect(isStateKey(config, "ftp2s3/ftp2s3-state/m.json")).toBe(true);
    expect(isStateKey(config, "ftp2s3/p/ftp2s3-state/m.json")).toBe(false);
  });
});

describe("continuation signatures", () => {
  const key = Buffer.alloc(32, 7);
  const genuine: SignedFields = {
    connection: "partner",
    path: "/outbox/a.bin",
    key: "a.bin",
    transferId: "t-1",
    continuation: {
      number: 2,
      resumeAt: {
        uploadId: "u-1",
        offset: 10485760,
        partSize: 5242880,
        size: 20000000,
        modifiedAt: "2024-01-02T03:04:05.000Z",
        hashState: "state",
      },
      ifExists: "fail-unless-unchanged",
      noRestart: false,
    },
  };
  const signed = (fields: SignedFields, signature = signContinuation(genuine, key)) => ({
    ...fields,
    continuation: { ...fields.continuation, signature },
  });

  it("accepts the function's own signature", () => {
    expect(() => assertSignedContinuation(signed(genuine), key)).not.toThrow();
  });

  const resumeAt = genuine.continuation.resumeAt as NonNullable<SignedFields["continuation"]["resumeAt"]>;
  it.each<[string, SignedFields]>([
    ["connection", { ...genuine, connection: "other" }],
    ["path", { ...genuine, path: "/outbox/b.bin" }],
    ["key", { ...genuine, key: "b.bin" }],
    ["key left out", { ...genuine, key: undefined }],
    ["transferId", { ...genuine, transferId: "t-2" }],
    ["number", { ...genuine, continuation: { ...genuine.continuation, number: 1 } }],
    ["resumeAt", { ...genuine, continuation: { ...genuine.continuation, resumeAt: null } }],
    ...(["uploadId", "offset", "partSize", "size", "modifiedAt", "hashState"] as const).map(
      (field): [string, SignedFields] => [
        `resumeAt.${field}`,
        {
          ...genuine,
          continuation: {
            ...genuine.continuation,
            resumeAt: { ...resumeAt, [field]: typeof resumeAt[field] === "number" ? 5242880 * 3 : "x" },
          },
        },
      ],
    ),
    ["ifExists", { ...genuine, continuation: { ...genuine.continuation, ifExists: "replace" } }],
    ["noRestart", { ...genuine, continuation: { ...genuine.continuation, noRestart: true } }],
  ])("refuses a continuation whose %s changed after signing", (_field, changed) => {
    expect(canonicalContinuation(changed)).not.toBe(canonicalContinuation(genuine));
    expect(() => assertSignedContinuation(signed(changed), key)).toThrow(
      "a continuation was refused: its signature does not match",
    );
  });

  it("signs every field the continuation and resume point schemas have, but the signature itself", () => {
    expect([...SIGNED_CONTINUATION_FIELDS].sort()).toEqual(
      Object.keys(continuationSchema.shape)
        .filter((field) => field !== "signature")
        .sort(),
    );
    expect([...SIGNED_RESUME_POINT_FIELDS].sort()).toEqual(Object.keys(resumePointSchema.shape).sort());
  });

  it("refuses a signature by another key, a missing one, and any when no key is configured", () => {
    const other = signContinuation(genuine, Buffer.alloc(32, 8));
    expect(() => assertSignedContinuation(signed(genuine, other), key)).toThrow("does not match");
    expect(() => assertSignedContinuation(genuine, key)).toThrow("it is not signed");
    expect(() => assertSignedContinuation(signed(genuine), undefined)).toThrow(
      "no continuation key is configured",
    );
    expect(() => assertSignedContinuation(signed(genuine, "short"), key)).toThrow("does not match");
  });
});

describe("continuationKeyFrom", () => {
  it("takes the secret's text as the key, and refuses one too short to sign with, never quoting it", () => {
    expect(Buffer.from(continuationKeyFrom("k".repeat(64), "arn:k"))).toEqual(Buffer.from("k".repeat(64)));
    expect(() => continuationKeyFrom("short-key", "arn:k")).toThrow(
      expect.objectContaining({
        message: "the continuation key secret arn:k must hold at least 32 bytes of text",
      }),
    );
    expect(() => continuationKeyFrom(undefined, "arn:k")).toThrow("at least 32 bytes");
  });
});
