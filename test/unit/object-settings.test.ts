import { StorageClass } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { objectSettingsOf } from "../../functions/contracts/index.js";
import {
  asciiMetadataValue,
  contentTypeOf,
  landingAt,
  renderObject,
} from "../../functions/core/object-landing.js";
import {
  mergeObjectSettings,
  STORAGE_CLASSES,
  templateProblem,
} from "../../functions/core/object-settings.js";

const file = {
  path: "/out/données/report.csv",
  url: "ftp://u@h:21/out/donn%C3%A9es/report.csv",
  info: { size: 1234, modifiedAt: new Date("2026-01-02T03:04:05Z") },
};
const source = { "source-url": file.url };

describe("object settings", () => {
  it("know exactly the SDK's storage classes", () => {
    expect([...STORAGE_CLASSES].sort()).toEqual(Object.values(StorageClass).sort());
  });

  it("render every template field, and percent-encode what headers cannot carry", () => {
    const rendered = renderObject(
      {
        connection: "partner",
        metadata: { origin: "{connection}:{path}", stamp: "{name} {size} {mtime}" },
        tags: { file: "{name}", dir: "{path}" },
      },
      file,
      source,
      { ownTags: ["sha256"] },
    );

    expect(rendered.metadata).toEqual({
      "source-url": file.url,
      origin: "partner:/out/donn%C3%A9es/report.csv",
      stamp: "report.csv 1234 2026-01-02T03:04:05.000Z",
    });
    // Tags take UTF-8 letters as they are.
    expect(rendered.tags).toEqual({ file: "report.csv", dir: "/out/données/report.csv" });
    expect(rendered.contentType).toBe("text/csv");
  });

  it("render size and mtime empty when the server gave none", () => {
    const rendered = renderObject(
      { metadata: { s: "[{size}|{mtime}]" } },
      { ...file, info: { size: null, modifiedAt: null } },
      {},
      { ownTags: [] },
    );
    expect(rendered.metadata).toEqual({ s: "[|]" });
  });

  it("encode % itself, so decoding gives back exactly the text", () => {
    const text = "100% sûr\tnow";
    expect(asciiMetadataValue(text)).toBe("100%25 s%C3%BBr%09now");
    expect(decodeURIComponent(asciiMetadataValue(text))).toBe(text);
  });

  it.each([
    [
      { tags: { p: "{path}" } },
      { ...file, path: `/${"a".repeat(300)}` },
      /tag "p" would be 301 characters, more than S3's 256/,
    ],
    [
      { tags: { p: "{name}" } },
      { ...file, path: "/out/report (1).csv" },
      /tag "p" would hold "\(", which S3 refuses/,
    ],
    [
      { metadata: { long: "{path}" } },
      { ...file, path: `/${"a".repeat(2100)}` },
      /metadata would take \d+ bytes, more than S3's 2048/,
    ],
    [
      { tags: Object.fromEntries([...Array(10).keys()].map((i) => [`t${i}`, "v"])) },
      file,
      /11 tags with "sha256", S3 keeps at most 10/,
    ],
    [
      { tags: Object.fromEntries([...Array(9).keys()].map((i) => [`t${i}`, "v"])) },
      file,
      /11 tags with "sha256" and "source-digest", S3 keeps at most 10/,
    ],
  ])("refuse what breaks S3's limits, naming the file: %o", (settings, facts, message) => {
    const ownTags = /source-digest/.test(String(message)) ? ["sha256", "source-digest"] : ["sha256"];
    expect(() => renderObject(settings, facts, source, { ownTags })).toThrow(message);
    expect(() => renderObject(settings, facts, source, { ownTags })).toThrow(/^ftp:\/\/u@h:21\//);
  });

  it("count the source metadata within the 2 KB", () => {
    const long = { "source-url": `ftp://h/${"x".repeat(2020)}` };
    expect(() => renderObject({ metadata: { a: "{name}" } }, file, long, { ownTags: [] })).toThrow(
      /more than S3's 2048/,
    );
  });

  it("take the content type from the extension, else application/octet-stream; an override wins", () => {
    expect(contentTypeOf("/a/b.json")).toBe("application/json");
    expect(contentTypeOf("/a/B.PDF")).toBe("application/pdf");
    expect(contentTypeOf("/a/noext")).toBe("application/octet-stream");
    expect(contentTypeOf("/a.dir/noext")).toBe("application/octet-stream");
    expect(contentTypeOf("/a/x.unknownext")).toBe("application/octet-stream");
    expect(renderObject({ contentType: "text/plain" }, file, {}, { ownTags: [] }).contentType).toBe(
      "text/plain",
    );
  });

  it("date the retention from the clock it is given", () => {
    const rendered = renderObject({ retention: { mode: "COMPLIANCE", days: 2 } }, file, {}, { ownTags: [] });
    const now = Date.parse("2026-05-01T00:00:00Z");

    expect(landingAt(rendered, now).retention).toEqual({
      mode: "COMPLIANCE",
      retainUntil: new Date("2026-05-03T00:00:00Z"),
    });
  });

  it("refuse a template with an unknown field or a stray brace", () => {
    expect(templateProblem("{name}-{size}")).toBeUndefined();
    expect(templateProblem("{owner}")).toMatch(/"\{owner\}" is not one of/);
    expect(templateProblem("a}b")).toMatch(/"\}"/);
    expect(templateProblem("{name")).toMatch(/"\{name"/);
  });

  it("merge most specific last, field by field, metadata and tags name by name", () => {
    const merged = mergeObjectSettings(
      { storageClass: "STANDARD_IA", contentType: "text/plain", tags: { a: "1", b: "1" } },
      { storageClass: "GLACIER", tags: { b: "2" } },
      { tags: { c: "3" }, metadata: { m: "x" } },
    );

    expect(merged).toEqual({
      storageClass: "GLACIER",
      contentType: "text/plain",
      tags: { a: "1", b: "2", c: "3" },
      metadata: { m: "x" },
    });
  });

  it("build one value from the connection's config and the overrides, the key with a Bucket Key by default", () => {
    const settings = objectSettingsOf(
      "partner",
      {
        kmsKeyId: "arn:aws:kms:eu-west-1:123456789012:key/abc",
        retention: { mode: "GOVERNANCE", days: 3 },
        storageClass: "STANDARD_IA",
      },
      { storageClass: "ONEZONE_IA" },
      undefined,
      { contentType: "text/csv" },
    );

    expect(settings).toEqual({
      connection: "partner",
      kms: { keyId: "arn:aws:kms:eu-west-1:123456789012:key/abc", bucketKey: true },
      retention: { mode: "GOVERNANCE", days: 3 },
      storageClass: "ONEZONE_IA",
      contentType: "text/csv",
    });
  });
});
