import { describe, expect, it } from "vitest";
import type { FtpSourceOptions } from "../../../functions/adapters/ftp-source.js";
import { ConnectionFence } from "../../../functions/app/connection-fence.js";
import { parseConfig } from "../../../functions/contracts/index.js";
import type { FileSource } from "../../../functions/core/index.js";
import { memorySource } from "../../support/memory-source.js";

const config = parseConfig({
  bucket: "landing",
  prefix: "ftp/",
  connections: {
    partner: {
      host: "ftp.partner.example",
      user: "alice",
      passwordSecretArn: "arn:secret:partner",
      roots: ["/out"],
      timeoutSeconds: 12,
    },
  },
});

/** A fence whose DNS answers `address`, whose secrets hold "s3cret", and which records each connect. */
function fenceWith(address: string) {
  const connects: FtpSourceOptions[] = [];
  const fence = new ConnectionFence(config, {
    passwords: async (arn) => (arn === "arn:secret:partner" ? "s3cret" : "?"),
    connect: async (options): Promise<FileSource> => {
      connects.push(options);
      return memorySource({});
    },
    lookup: async () => [{ address }],
  });
  return { fence, connects };
}

describe("ConnectionFence", () => {
  it("refuses a connection that is not configured", () => {
    const { fence } = fenceWith("93.184.216.34");
    expect(() => fence.resolve({ connection: "toString", path: "/out/a.csv" })).toThrow(
      'no connection named "toString" is configured',
    );
  });

  it("resolves a path inside the roots to a key in the connection's key space", () => {
    const { fence } = fenceWith("93.184.216.34");
    expect(fence.resolve({ connection: "partner", path: "/out/a.csv" })).toMatchObject({
      path: "/out/a.csv",
      key: "ftp/partner/out/a.csv",
    });
    expect(fence.resolve({ connection: "partner", path: "/out/a.csv", key: "x/y.csv" }).key).toBe(
      "ftp/partner/x/y.csv",
    );
  });

  it.each(["../other/a.csv", "/a.csv", "x\\..\\y", "x/./y"])(
    "refuses the key %j, which leaves the key space",
    (key) => {
      const { fence } = fenceWith("93.184.216.34");
      expect(() => fence.resolve({ connection: "partner", path: "/out/a.csv", key })).toThrow(
        /leaves connection/,
      );
    },
  );

  it("refuses a path outside the roots", () => {
    const { fence } = fenceWith("93.184.216.34");
    expect(() => fence.resolve({ connection: "partner", path: "/etc/passwd" })).toThrow(
      /NOT_ALLOWED|outside|root/i,
    );
  });

  it("resolves a mirror job's directory and prefix inside the fence", () => {
    const { fence } = fenceWith("93.184.216.34");
    expect(
      fence.resolveDirectory({ connection: "partner", remoteDir: "/out/daily", prefix: "daily/" }),
    ).toEqual({
      remoteDir: "/out/daily",
      keySpace: "ftp/partner/",
      keyPrefix: "ftp/partner/daily/",
    });
  });

  it("opens a session at the checked address, with the secret's password and the connection's settings", async () => {
    // Arrange
    const { fence, connects } = fenceWith("93.184.216.34");

    // Act
    await fence.openSource("partner", new AbortController().signal);

    // Assert
    expect(connects).toEqual([
      expect.objectContaining({
        host: "ftp.partner.example",
        address: "93.184.216.34",
        port: 21,
        user: "alice",
        password: "s3cret",
        secure: "explicit",
        timeoutMs: 12_000,
        minRateWindowMs: 60_000,
      }),
    ]);
  });

  it("refuses a host that resolves to a private address, before connecting", async () => {
    const { fence, connects } = fenceWith("10.0.0.5");
    await expect(fence.openSource("partner", new AbortController().signal)).rejects.toThrow(/10\.0\.0\.5/);
    expect(connects).toEqual([]);
  });
});
