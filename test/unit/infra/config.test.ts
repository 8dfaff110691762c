import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sampleConfigJson, synthError } from "./synth.js";

describe("a bad stack config fails synthesis with a message naming the field", () => {
  it("a connection without roots", () => {
    expect(
      synthError((json) => {
        delete json.connections["partner-ftp"].roots;
      }),
    ).toMatch(/^invalid test config: connections\.partner-ftp\.roots: /);
  });

  it("a connection with empty roots, or a relative root", () => {
    expect(synthError((json) => (json.connections["partner-ftp"].roots = []))).toMatch(
      /connections\.partner-ftp\.roots: Too small/,
    );
    expect(synthError((json) => (json.connections["partner-ftp"].roots = ["outbox"]))).toContain(
      "connections.partner-ftp.roots.0: must be an absolute path",
    );
  });

  it("a password in the config (the stack never takes one)", () => {
    expect(synthError((json) => (json.connections["partner-ftp"].password = "hunter2"))).toMatch(
      /connections\.partner-ftp: Unrecognized key: "password"/,
    );
  });

  it("a partial secret ARN", () => {
    expect(
      synthError(
        (json) =>
          (json.connections["partner-ftp"].passwordSecretArn =
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:partner"),
      ),
    ).toContain("connections.partner-ftp.passwordSecretArn: must be the complete secret ARN");
  });

  it("a mirror of an unknown connection, or outside the connection's roots", () => {
    expect(synthError((json) => (json.mirrors[0].connection = "nope"))).toContain(
      'mirrors.0.connection: no connection named "nope" (configured: partner-ftp, public-mirror)',
    );
    expect(synthError((json) => (json.mirrors[0].remoteDir = "/etc"))).toContain(
      'mirrors.0.remoteDir: /etc is outside the roots of connection "partner-ftp" (/outbox, /reports)',
    );
    // The function's own fence: ".." resolved, "\\" refused, as they would be at run time.
    expect(synthError((json) => (json.mirrors[0].remoteDir = "/outbox/../etc"))).toContain(
      'mirrors.0.remoteDir: /etc is outside the roots of connection "partner-ftp" (/outbox, /reports)',
    );
    expect(synthError((json) => (json.mirrors[0].remoteDir = "/outbox/..\\etc"))).toContain(
      'mirrors.0.remoteDir: path "/outbox/..\\\\etc" contains "\\"',
    );
  });

  it("a mirror whose afterCopy would move files outside the roots", () => {
    expect(synthError((json) => (json.mirrors[0].afterCopy = { moveTo: "/etc/{yyyy}" }))).toContain(
      'mirrors.0.afterCopy: the move target "/etc/{yyyy}" lies outside the roots of connection "partner-ftp" (/outbox, /reports)',
    );
  });

  it("a schedule that is not an EventBridge Scheduler expression, or a mirror name used twice", () => {
    expect(synthError((json) => (json.mirrors[0].schedule = "every night"))).toContain(
      'mirrors.0.schedule: must be "rate(...)", "cron(...)" or "at(...)"',
    );
    expect(synthError((json) => (json.mirrors[1].name = json.mirrors[0].name))).toContain(
      'mirrors.1.name: "partner-reports-nightly" is used twice',
    );
  });

  it("queue concurrency below AWS's minimum, or above the reserved concurrency", () => {
    expect(synthError((json) => (json.ingestion.maxConcurrency = 1))).toMatch(
      /ingestion\.maxConcurrency: Too small/,
    );
    expect(synthError((json) => (json.function.reservedConcurrency = 3))).toContain(
      "ingestion.maxConcurrency: 5 exceeds function.reservedConcurrency (3)",
    );
  });

  it("a log retention CloudWatch does not offer", () => {
    expect(synthError((json) => (json.function.logRetentionDays = 31))).toContain(
      "function.logRetentionDays: must be one of CloudWatch Logs' retention periods",
    );
  });

  it("a transfer setting the function would refuse", () => {
    expect(synthError((json) => (json.transfer.partSizeMiB = 4))).toMatch(/transfer\.partSizeMiB: Too small/);
  });

  it("a configuration the function's environment cannot hold", () => {
    expect(synthError((json) => (json.connections["partner-ftp"].caPem = "A".repeat(4000)))).toMatch(
      /the FTP2S3_CONFIG document would take up to \d+ bytes, and Lambda allows 4096 bytes/,
    );
  });

  it("an existing bucket without its name", () => {
    expect(synthError((json) => (json.bucket = { existing: true }))).toContain(
      'bucket.name: an "existing" bucket needs its name',
    );
  });
});

describe("cdk synth with a bad config file", () => {
  it("exits with status 1 and one line naming the file and the field, no stack trace", () => {
    // Arrange
    const json = sampleConfigJson();
    delete json.connections["partner-ftp"].roots;
    const dir = mkdtempSync(join(tmpdir(), "ftp2s3-config-"));
    const path = join(dir, "bad.json");
    writeFileSync(path, JSON.stringify(json));

    // Act: what `npx cdk synth -c config=bad.json` runs, with the context the CLI passes.
    const run = spawnSync("npx", ["tsx", "infra/app.ts"], {
      encoding: "utf8",
      env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ config: path }), CDK_OUTDIR: dir },
    });

    // Assert
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toBe(
      `ftp2s3: invalid stack config ${path}: connections.partner-ftp.roots: Invalid input: expected array, received undefined`,
    );
  }, 30_000);
});
