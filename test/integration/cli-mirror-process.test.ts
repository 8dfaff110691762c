import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runInProcess } from "../support/cli.js";
import { type EmbeddedS3Server, startS3rver } from "../support/embedded-s3.js";
import {
  type CommandContext,
  type FakeFtpServer,
  retrScripts,
  startFakeFtpServer,
} from "../support/fake-ftp-server.js";
import { objectExists, randomFile, readObject } from "../support/objects.js";

const mainScript = fileURLToPath(new URL("../../functions/cli/main.ts", import.meta.url));
const files: Record<string, Buffer> = {
  "/out/a.csv": randomFile(300),
  "/out/b.csv": randomFile(400),
  "/tree/ok.csv": randomFile(200),
};

/**
 * A Unix LIST: of a directory its files, of a file path the file alone (as most servers answer);
 * /tree holds a directory whose LIST fails with 450.
 */
async function list(ctx: CommandContext & { dataSocket(): Promise<import("node:net").Socket> }) {
  const path = ctx.arg.replace(/^-a\s*/, "") || "/out";
  if (path === "/tree/locked") {
    ctx.reply("450 /tree/locked: temporarily unavailable");
    return;
  }
  const dirs = path === "/tree" ? ["drwxr-xr-x   2 ftp ftp 4096 Jan 02 03:04 locked\r\n"] : [];
  const names = Object.keys(files)
    .filter((p) => p === path || p.startsWith(`${path}/`))
    .map((p) => p.slice(p.lastIndexOf("/") + 1));
  ctx.reply("150 Here comes the listing");
  const data = await ctx.dataSocket();
  const lines = names.map(
    (n) => `-rw-r--r--   1 ftp ftp ${files[`${path}/${n}`]?.length ?? 300} Jan 02 03:04 ${n}\r\n`,
  );
  await new Promise<void>((resolve) => data.end([...dirs, ...lines].join(""), () => resolve()));
  ctx.reply("226 Listing sent");
}

/** The real entry point in a child process, told SIGINT once `when` matches its stderr. */
function runUntil(args: string[], env: Record<string, string>, when: RegExp) {
  return new Promise<{ exitCode: number | null; signal: string | null; stdout: string; stderr: string }>(
    (resolve) => {
      const child = spawn(process.execPath, ["--import", "tsx", mainScript, ...args], {
        env: { PATH: process.env.PATH, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", ...env },
      });
      let stdout = "";
      let stderr = "";
      let sent = false;
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString("utf8");
      });
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString("utf8");
        if (!sent && when.test(stderr)) {
          sent = true;
          child.kill("SIGINT");
        }
      });
      child.on("close", (exitCode, signal) => resolve({ exitCode, signal, stdout, stderr }));
    },
  );
}

describe("ftp2s3 mirror as a process", () => {
  let work: string;
  let ftp: FakeFtpServer;
  let s3: EmbeddedS3Server;
  let env: Record<string, string>;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "ftp2s3-mirror-process-"));
    ftp = await startFakeFtpServer({
      files,
      handlers: {
        LIST: list as never,
        // The locked directory refuses CWD too, so the listing's CWD fallback cannot reach it either.
        CWD: (ctx) =>
          ctx.reply(ctx.arg === "/tree/locked" ? "550 /tree/locked: permission denied" : "250 OK"),
      },
      // b.csv never finishes: the run is still busy when Ctrl-C comes.
      retr: (ctx) =>
        ctx.arg.endsWith("b.csv") ? retrScripts.stallAfter(10)(ctx) : retrScripts.normal()(ctx),
    });
    s3 = await startS3rver(join(work, "s3"));
    await s3.createBucket("proc");
    env = { ...s3.env, FTP_PASSWORD: "pw" };
  });
  afterAll(async () => {
    await ftp?.close();
    await s3?.close();
    await rm(work, { recursive: true, force: true });
  });

  it("exits 130 on Ctrl-C and records the files committed before it, so a rerun skips them", async () => {
    const run = await runUntil(
      [
        "mirror",
        `ftp://u@127.0.0.1:${ftp.port}/out`,
        "s3://proc/in/",
        "--no-tag",
        "--concurrency",
        "1",
        "--progress",
        "json",
      ],
      env,
      /"key":"in\/a\.csv","outcome":"copied"/,
    );

    expect(run.exitCode).toBe(130);
    expect(JSON.parse(run.stdout)).toMatchObject({ copied: 1, deleted: 0 });
    expect(run.stderr).toMatch(/ftp2s3: stopped by SIGINT; 1 files copied and recorded/);
    expect(await objectExists(s3.client(), "proc", "in/b.csv")).toBe(false);
    const state = JSON.parse(
      (await readObject(s3.client(), "proc", ".ftp2s3-state/in/manifest.json")).toString(),
    );
    expect(Object.keys(state.entries)).toEqual(["a.csv"]);
  });

  it("keeps the objects below a directory whose LIST failed (450), deletes the rest, names it and exits 1", async () => {
    for (const key of ["tree/locked/kept.csv", "tree/gone.csv"]) {
      await s3.client().send(new PutObjectCommand({ Bucket: "proc", Key: key, Body: "old" }));
    }

    const run = await runInProcess(
      [
        "mirror",
        `ftp://u@127.0.0.1:${ftp.port}/tree`,
        "s3://proc/tree/",
        "--no-tag",
        "--recursive",
        "--delete",
      ],
      env,
    );

    expect(run.exitCode).toBe(1);
    expect(run.result).toMatchObject({
      copied: 1,
      deleted: 1,
      deletedKeys: ["tree/gone.csv"],
      deleteHeld: 1,
      listingFailures: [{ dir: "/tree/locked", code: "FTP_LISTING" }],
    });
    expect(run.stderr).toContain(`{"event":"deleted","bucket":"proc","key":"tree/gone.csv"}`);
    expect(await objectExists(s3.client(), "proc", "tree/locked/kept.csv")).toBe(true);
    expect(await objectExists(s3.client(), "proc", "tree/gone.csv")).toBe(false);
  });

  it("refuses a state key inside the mirrored prefix before connecting (exit 2)", async () => {
    const commandsBefore = ftp.commands.length;

    const run = await runInProcess(
      ["mirror", `ftp://u@127.0.0.1:${ftp.port}/out`, "s3://proc/in/", "--state-key", "in/state.json"],
      env,
    );

    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(
      /^ftp2s3: INVALID_INPUT: the mirror state s3:\/\/proc\/in\/state\.json lies inside the mirrored prefix/,
    );
    expect(ftp.commands.length).toBe(commandsBefore);
  });

  it("refuses --max-delete or --allow-empty-source without --delete (exit 2, one line) before connecting", async () => {
    const commandsBefore = ftp.commands.length;

    for (const option of [["--max-delete", "5"], ["--allow-empty-source"]]) {
      const run = await runInProcess(
        ["mirror", `ftp://u@127.0.0.1:${ftp.port}/out`, "s3://proc/x/", ...option],
        env,
      );

      expect(run.exitCode).toBe(2);
      expect(run.stderr.trim().split("\n")).toEqual([
        "ftp2s3: INVALID_INPUT: --max-delete and --allow-empty-source apply only with --delete",
      ]);
    }
    expect(ftp.commands.length).toBe(commandsBefore);
  });

  it("refuses a file given as the directory with exit 2 and one line, writing nothing", async () => {
    const run = await runUntil(
      ["mirror", `ftp://u@127.0.0.1:${ftp.port}/out/a.csv`, "s3://proc/single/", "--no-tag"],
      env,
      /(?!)/,
    );

    expect(run.exitCode).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr.trim().split("\n")).toEqual([
      `ftp2s3: INVALID_INPUT: ftp://u@127.0.0.1:${ftp.port}/out/a.csv is a file, not a directory: mirror copies directories (copy one file with ftp2s3 <ftp-url> <s3-url>)`,
    ]);
    expect(await objectExists(s3.client(), "proc", ".ftp2s3-state/single/manifest.json")).toBe(false);
    expect(await objectExists(s3.client(), "proc", "single/.ftp2s3-manifest.json")).toBe(false);
  });
});
