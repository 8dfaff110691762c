import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runInProcess } from "../support/cli.js";
import { type EmbeddedS3Server, startFauxqsS3 } from "../support/embedded-s3.js";
import {
  type CommandContext,
  type FakeFtpServer,
  retrScripts,
  startFakeFtpServer,
} from "../support/fake-ftp-server.js";
import { objectExists, randomFile, readObject, sha256 } from "../support/objects.js";

const bucket = "actions";
const PASSWORD = "after-copy-pw";

// afterCopy where the server misbehaves: a failed copy never takes the file away; a refused or
// dropped DELE is a warning (exit 0, the object stands) and the next try finishes it without a RETR.
describe("ftp2s3 --after-copy delete against a scripted server", () => {
  let ftp: FakeFtpServer;
  let s3: EmbeddedS3Server;
  const files: Record<string, Buffer> = {};
  /** How the next DELE is answered: "ok" deletes, "refuse" is a 550, "drop" closes the connection. */
  const dele: Record<string, "ok" | "refuse" | "drop"> = {};
  let retr = retrScripts.normal();

  beforeAll(async () => {
    s3 = await startFauxqsS3();
    await s3.createBucket(bucket);
    ftp = await startFakeFtpServer({
      user: "u",
      password: PASSWORD,
      features: ["SIZE", "MDTM", "EPSV", "PASV", "UTF8", "MLST type*;size*;modify*;"],
      files,
      retr: (ctx) => retr(ctx),
      handlers: { DELE: deleteFile },
      listings: {
        "/in": {
          mlsd: {
            *[Symbol.iterator]() {
              yield "type=cdir; /in";
              for (const [path, data] of Object.entries(files)) {
                if (!path.startsWith("/in/")) continue;
                yield `type=file;size=${data.length};modify=20240102030405; ${path.slice("/in/".length)}`;
              }
            },
          },
        },
      },
    });
  });
  afterAll(async () => {
    await ftp?.close();
    await s3?.close();
  });
  beforeEach(() => {
    retr = retrScripts.normal();
  });

  function deleteFile(ctx: CommandContext) {
    const how = dele[ctx.arg] ?? "ok";
    dele[ctx.arg] = "ok";
    if (how === "drop") ctx.control.destroy();
    else if (how === "refuse") ctx.reply("550 Permission denied.");
    else if (files[ctx.arg] === undefined) ctx.reply("550 No such file.");
    else {
      delete files[ctx.arg];
      ctx.reply("250 DELE command successful.");
    }
  }

  const env = () => ({ ...s3.env, FTP_PASSWORD: PASSWORD });
  const url = (path: string) => `ftp://u@127.0.0.1:${ftp.port}${path}`;
  const count = (verb: string, path: string) => ftp.commands.filter((c) => c === `${verb} ${path}`).length;
  const copy = (path: string, ...options: string[]) =>
    runInProcess(
      [
        url(path),
        `s3://${bucket}/c/`,
        "--no-tag",
        "--progress",
        "none",
        "--after-copy",
        "delete",
        ...options,
      ],
      env(),
    );
  const mirror = () =>
    runInProcess(
      ["mirror", url("/in"), `s3://${bucket}/m/`, "--no-tag", "--progress", "none", "--after-copy", "delete"],
      env(),
    );

  it("never after a failed RETR (426): the file stays, no DELE is sent", async () => {
    // Arrange
    files["/out/failing.bin"] = randomFile(5000);
    retr = retrScripts.fullDataThen("426 Connection closed; transfer aborted.");

    // Act
    const run = await copy("/out/failing.bin");

    // Assert
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain("FTP_REPLY");
    expect(count("DELE", "/out/failing.bin")).toBe(0);
    expect(files["/out/failing.bin"]).toBeDefined();
  });

  it("never after SOURCE_CHANGED: the file still being written stays", async () => {
    // Arrange
    files["/out/growing.bin"] = randomFile(5000);
    retr = retrScripts.growsAfterFirstRetr(files, "/out/growing.bin", 100);

    // Act
    const run = await copy("/out/growing.bin");

    // Assert
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain("SOURCE_CHANGED");
    expect(count("DELE", "/out/growing.bin")).toBe(0);
    expect(files["/out/growing.bin"]).toHaveLength(5100);
  });

  it("a 550 on DELE: a warning, exit 0, the object committed", async () => {
    // Arrange
    const data = randomFile(3000);
    files["/out/refused.csv"] = data;
    dele["/out/refused.csv"] = "refuse";

    // Act
    const run = await copy("/out/refused.csv");

    // Assert
    expect(run.exitCode).toBe(0);
    expect(run.result).toMatchObject({
      status: "copied",
      afterCopy: {
        action: "failed",
        code: "FTP_REPLY",
        message: expect.stringContaining("550 Permission denied"),
      },
    });
    expect(run.stderr).toContain("warning: could not delete the source file after its object was committed");
    expect(sha256(await readObject(s3.client(), bucket, "c/refused.csv"))).toBe(sha256(data));
    expect(files["/out/refused.csv"]).toBeDefined();
  });

  it("a connection dropped on DELE after the commit: the rerun with --skip-unchanged deletes, reading nothing", async () => {
    // Arrange
    const data = randomFile(4000);
    files["/out/dropped.csv"] = data;
    dele["/out/dropped.csv"] = "drop";
    const first = await copy("/out/dropped.csv");
    const retrs = count("RETR", "/out/dropped.csv");

    // Act
    const second = await copy("/out/dropped.csv", "--skip-unchanged");

    // Assert
    expect(first.exitCode).toBe(0);
    expect(first.result).toMatchObject({ status: "copied", afterCopy: { action: "failed" } });
    expect(second.exitCode).toBe(0);
    expect(second.result).toMatchObject({ status: "unchanged", afterCopy: { action: "deleted" } });
    expect(count("RETR", "/out/dropped.csv")).toBe(retrs);
    expect(files["/out/dropped.csv"]).toBeUndefined();
    expect(sha256(await readObject(s3.client(), bucket, "c/dropped.csv"))).toBe(sha256(data));
  });

  it("mirror: a refused DELE is retried by the next run, which reads nothing again", async () => {
    // Arrange
    files["/in/one.csv"] = randomFile(1000);
    files["/in/two.csv"] = randomFile(2000);
    dele["/in/two.csv"] = "refuse";

    // Act
    const first = await mirror();
    const retrs = count("RETR", "/in/two.csv");
    const second = await mirror();

    // Assert
    expect(first.exitCode).toBe(0);
    expect(first.result).toMatchObject({
      copied: 2,
      failed: [],
      afterCopy: { done: 1, failed: [{ path: "/in/two.csv", code: "FTP_REPLY" }] },
    });
    expect(second.exitCode).toBe(0);
    expect(second.result).toMatchObject({ copied: 0, unchanged: 1, afterCopy: { done: 1, failed: [] } });
    expect(count("RETR", "/in/two.csv")).toBe(retrs);
    expect(files["/in/one.csv"]).toBeUndefined();
    expect(files["/in/two.csv"]).toBeUndefined();
    expect(await objectExists(s3.client(), bucket, "m/two.csv")).toBe(true);
  });

  it("mirror: an object committed before the run stopped (no journal) is found by HEAD, and its file taken away", async () => {
    // Arrange: as a run killed after Complete: the object holds this very version, no manifest records it
    const data = randomFile(1500);
    files["/in/orphan.csv"] = data;
    const committed = await runInProcess(
      [url("/in/orphan.csv"), `s3://${bucket}/m/orphan.csv`, "--no-tag", "--progress", "none"],
      env(),
    );
    const retrs = count("RETR", "/in/orphan.csv");

    // Act
    const run = await mirror();

    // Assert
    expect(committed.exitCode).toBe(0);
    expect(run.exitCode).toBe(0);
    expect(run.result).toMatchObject({ copied: 0, unchanged: 1, afterCopy: { done: 1, failed: [] } });
    expect(count("RETR", "/in/orphan.csv")).toBe(retrs);
    expect(files["/in/orphan.csv"]).toBeUndefined();
  });
});
