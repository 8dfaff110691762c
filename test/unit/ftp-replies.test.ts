import { describe, expect, it } from "vitest";
import { parseMdtmReply, parseSizeReply, replyText } from "../../functions/adapters/ftp-replies.js";
import { S3_MAX_OBJECT_SIZE } from "../../functions/core/part-size.js";

const TiB = 1024 ** 4;

describe("parseSizeReply: a SIZE reply becomes a size the core can trust", () => {
  it.each([
    ["12345", 12345],
    ["0", 0],
    [" 42 ", 42],
    ["5555, some commentary", 5555],
    ["77 bytes", 77],
    [String(S3_MAX_OBJECT_SIZE), S3_MAX_OBJECT_SIZE],
  ])("reads %j as %i", (text, size) => {
    expect(parseSizeReply(text)).toEqual({ size });
  });

  it.each(["File status", "", "unknown"])("reads %j (no number at all) as unknown", (text) => {
    expect(parseSizeReply(text)).toEqual({ size: null });
  });

  it.each([
    ["12abc", "is not a byte count"],
    ["-5", "is not a byte count"],
    ["1e9", "is not a byte count"],
    ["12.5", "is not a byte count"],
    [String(6 * TiB), "more than S3's maximum object size"],
    [String(S3_MAX_OBJECT_SIZE + 1), "more than S3's maximum object size"],
    ["99999999999999999999", "more than S3's maximum object size"],
    ["123456789012345678901", "is not a byte count"],
  ])("calls %j the server's fault (%s)", (text, problem) => {
    const verdict = parseSizeReply(text);
    expect(verdict).toEqual({ problem: expect.stringContaining(problem) });
  });
});

describe("parseMdtmReply: an MDTM reply becomes a time, or null when it cannot be trusted", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");

  it.each([
    ["20240102030405", "2024-01-02T03:04:05.000Z"],
    ["20240102030405.5", "2024-01-02T03:04:05.500Z"],
    ["20240102030405.123456", "2024-01-02T03:04:05.123Z"],
    ["20260101230000", "2026-01-01T23:00:00.000Z"], // ahead, but within a day of skew
  ])("reads %j as %s", (text, iso) => {
    expect(parseMdtmReply(text, now)?.toISOString()).toBe(iso);
  });

  it.each([
    ["garbage", "not a time-val"],
    ["2024010203040", "too short"],
    ["20240230030405", "30 February"],
    ["20241301000000", "month 13"],
    ["20240102250000", "hour 25"],
    ["20260102000001", "more than a day ahead"],
    ["99991231235959", "far in the future"],
  ])("reads %j as unknown (%s)", (text) => {
    expect(parseMdtmReply(text, now)).toBeNull();
  });
});

describe("replyText", () => {
  it("drops the code", () => {
    expect(replyText("213 12345")).toBe("12345");
    expect(replyText("213-12345")).toBe("12345");
  });
});
