import { describe, expect, it } from "vitest";
import { connectionSettingsOf, parseConfig } from "../../functions/contracts/index.js";
import { assertSignedRange, signRange } from "../../functions/lambda/range-signature.js";

const connection = {
  host: "ftp.example.com",
  user: "u",
  passwordSecretArn: "arn:aws:secretsmanager:us-east-1:000000000000:secret:x",
  roots: ["/outbox"],
};
const configWith = (rangeFanout: unknown) =>
  parseConfig({ bucket: "landing", connections: { partner: { ...connection, rangeFanout } } });

/** The one-line error a bad rangeFanout gets, or undefined when it is taken. */
function problem(rangeFanout: unknown): string | undefined {
  try {
    configWith(rangeFanout);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

describe("a connection's rangeFanout", () => {
  it("is taken in MiB and converted to bytes once", () => {
    const config = configWith({ minMiB: 1024, ranges: 16, maxSessions: 4 });

    const settings = connectionSettingsOf(config.connections.partner as never);

    expect(settings.rangeFanout).toEqual({ minBytes: 1024 * 1024 * 1024, ranges: 16, maxSessions: 4 });
  });

  it("is off when left out", () => {
    const config = parseConfig({ bucket: "landing", connections: { partner: connection } });

    expect(connectionSettingsOf(config.connections.partner as never).rangeFanout).toBeUndefined();
  });

  it.each([
    [{ minMiB: 1, ranges: 4, maxSessions: 2 }, /minMiB/],
    [{ minMiB: 100, ranges: 1, maxSessions: 1 }, /ranges/],
    [{ minMiB: 100, ranges: 65, maxSessions: 2 }, /ranges/],
    [
      { minMiB: 100, ranges: 4, maxSessions: 5 },
      /"maxSessions" of a range fan-out may not exceed its "ranges"/,
    ],
    [{ minMiB: 100, ranges: 4, maxSessions: 0 }, /maxSessions/],
    [{ minMiB: 100, ranges: 4, maxSessions: 2, extra: true }, /extra/],
  ])("refuses %j with a clear error", (rangeFanout, message) => {
    expect(problem(rangeFanout)).toMatch(message);
    expect(problem(rangeFanout)).toMatch(/rangeFanout/);
  });
});

describe("a range message's signature", () => {
  const key = Buffer.from("k".repeat(32));
  const signed = { transferId: "t-1", range: 2, uploadId: "upload-a" };

  it("holds for the plan it was made for, and for no other upload, range or key", () => {
    const signature = signRange(signed, key);

    expect(() => assertSignedRange(signed, signature, key)).not.toThrow();
    expect(() => assertSignedRange({ ...signed, uploadId: "upload-b" }, signature, key)).toThrow(/signature/);
    expect(() => assertSignedRange({ ...signed, range: 3 }, signature, key)).toThrow(/signature/);
    expect(() => assertSignedRange(signed, signature, Buffer.from("x".repeat(32)))).toThrow(/signature/);
    expect(() => assertSignedRange(signed, signature, undefined)).toThrow(/no continuation key/);
  });
});
