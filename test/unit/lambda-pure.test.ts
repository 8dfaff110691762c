import { describe, expect, it } from "vitest";
import { passwordFromSecret } from "../../functions/adapters/passwords.js";
import { parseConfig } from "../../functions/config.js";
import { httpStatusOf } from "../../functions/lambda/api.js";
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
      path: "/a",
    });
    expect(queuedRequest('{"path":"/a"}')).toEqual({ path: "/a" });
  });
});

describe("httpStatusOf", () => {
  it.each([
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
  ])("refuses %j naming the field", (config, message) => {
    expect(() => parseConfig(config)).toThrow(message);
  });
});
