import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../functions/contracts/index.js";
import { type FakeFtpServer, startFakeFtpServer } from "../support/fake-ftp-server.js";
import {
  bucket,
  callApi,
  fakeServerConnection,
  type LambdaRig,
  startLambdaRig,
} from "../support/lambda-rig.js";
import { objectExists, randomFile, readObject, sha256 } from "../support/objects.js";

/** A name's bytes as the fake server keys it with encoding "latin1": one character per byte. */
const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => Buffer.from(p))).toString("latin1");

// A connection whose server names files in Windows-1252: API requests and scheduled mirrors name
// them in UTF-8, keys are UTF-8, and the server is sent its own bytes.
describe("a connection's encoding", () => {
  let rig: LambdaRig;
  let ftp: FakeFtpServer;
  const cafe = randomFile(2000);
  const euro = randomFile(3000);
  const unreadable = randomFile(10);

  beforeAll(async () => {
    ftp = await startFakeFtpServer({
      encoding: "latin1",
      features: ["SIZE", "MDTM", "EPSV", "PASV", "MLST type*;size*;modify*;"],
      files: {
        [bytes("/outbox/caf", [0xe9], ".txt")]: cafe,
        [bytes("/outbox/", [0x80], "uro.csv")]: euro,
        [bytes("/outbox/", [0x81], ".csv")]: unreadable,
      },
      listings: {
        "/outbox": {
          mlsd: [
            "type=cdir; /outbox",
            `type=file;size=${euro.length};modify=20240102030405; ${bytes([0x80], "uro.csv")}`,
            // 0x81 is no character in Windows-1252.
            `type=file;size=10;modify=20240102030405; ${bytes([0x81], ".csv")}`,
          ],
        },
      },
    });
    rig = await startLambdaRig({
      connections: { legacy: { ...fakeServerConnection(ftp.port), encoding: "windows-1252" } },
    });
  });
  afterAll(async () => {
    await rig?.close();
    await ftp?.close();
  });

  it("copies a file an API request names in UTF-8 to its UTF-8 key", async () => {
    // Act
    const response = await callApi(rig, "POST", "/transfers", {
      connection: "legacy",
      path: "/outbox/café.txt",
    });

    // Assert
    expect(response.statusCode).toBe(200);
    expect(response.body).toMatchObject({ key: "landing/legacy/outbox/café.txt" });
    expect(sha256(await readObject(rig.s3, bucket, "landing/legacy/outbox/café.txt"))).toBe(sha256(cafe));
    expect(ftp.commands).toContain(`RETR ${bytes("/outbox/caf", [0xe9], ".txt")}`);
  });

  it("refuses a path the encoding cannot represent: 400 INVALID_INPUT", async () => {
    const response = await callApi(rig, "POST", "/transfers", {
      connection: "legacy",
      path: "/outbox/☃.txt",
    });

    expect(response.statusCode).toBe(400);
    expect(response.body).toEqual({
      error: {
        code: "INVALID_INPUT",
        message:
          '"/outbox/☃.txt" has "☃" (U+2603), which windows-1252 (the server\'s name encoding) cannot represent',
      },
    });
  });

  it("mirrors on schedule, and fails naming the name that is not Windows-1252, after copying the rest", async () => {
    // Act
    const run = rig.invoke({ mirror: { connection: "legacy", remoteDir: "/outbox", prefix: "m/" } });

    // Assert
    await expect(run).rejects.toMatchObject({ code: "MIRROR_INCOMPLETE" });
    await expect(run).rejects.toThrow("/outbox/\\x81.csv (UNREADABLE_NAME)");
    expect(sha256(await readObject(rig.s3, bucket, "landing/legacy/m/€uro.csv"))).toBe(sha256(euro));
    expect(await objectExists(rig.s3, bucket, "landing/legacy/m/\uFFFD.csv")).toBe(false);
    const warning = rig.logs().find((l) => l.level === "WARN" && String(l.message).includes("\\x81.csv"));
    expect(warning?.message).toBe(
      "/outbox/\\x81.csv: the name's bytes (81 2e 63 73 76) are not valid windows-1252, the server's name encoding: not copied",
    );
  });

  it("is checked with the config: an unknown encoding names the connection and the field", () => {
    const config = {
      bucket,
      connections: { legacy: { ...fakeServerConnection(21), encoding: "klingon" } },
    };

    expect(() => parseConfig(config)).toThrow(/connections\.legacy\.encoding.*unknown encoding "klingon"/);
  });
});
