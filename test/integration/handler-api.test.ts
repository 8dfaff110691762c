import { GetSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type FakeFtpServer,
  retrScripts,
  startFakeFtpServer,
  trickleLines,
} from "../support/fake-ftp-server.js";
import {
  bucket,
  callApi,
  fakeServerConnection,
  type LambdaRig,
  sqsEvent,
  sqsRecord,
  startLambdaRig,
} from "../support/lambda-rig.js";
import { objectExists, randomFile, readObject, sha256 } from "../support/objects.js";

const MiB = 1024 * 1024;

describe("API trigger: POST /transfers on the Function URL", () => {
  let rig: LambdaRig;
  let fake: FakeFtpServer | undefined;
  beforeAll(async () => {
    // A second connection points at a scriptable server, for the faults ftp-srv cannot play.
    const files = {
      "/outbox/gone.bin": randomFile(100),
      "/outbox/aborted.bin": randomFile(6 * MiB),
      "/outbox/slow.bin": randomFile(12 * MiB),
      "/outbox/windows.bin": randomFile(1000),
      "/outbox/growing-api.bin": randomFile(1000),
      "/outbox/growing-queued.bin": randomFile(1000),
    };
    const growing = {
      "/outbox/growing-api.bin": retrScripts.growsAfterFirstRetr(files, "/outbox/growing-api.bin", 100),
      "/outbox/growing-queued.bin": retrScripts.growsAfterFirstRetr(files, "/outbox/growing-queued.bin", 100),
    };
    fake = await startFakeFtpServer({
      user: "u",
      password: "partner-secret-pw",
      files,
      handlers: {
        // Without MDTM a copy cannot be resumed (nothing tells an unchanged file): slow.bin meets the
        // deadline rather than going on in another invocation.
        MDTM: (ctx) =>
          ctx.arg === "/outbox/slow.bin" ? ctx.reply("502 Command not implemented") : ctx.fallback(),
        RETR: async (ctx) => {
          if (ctx.arg === "/outbox/gone.bin") return ctx.reply("550 No such file or directory.");
          if (ctx.arg === "/outbox/aborted.bin")
            return retrScripts.fullDataThen("426 Transfer aborted.")(ctx as never);
          if (Object.hasOwn(growing, ctx.arg)) return growing[ctx.arg as keyof typeof growing](ctx as never);
          return retrScripts.slow(64 * 1024, 20)(ctx as never);
        },
      },
    });
    rig = await startLambdaRig({
      connections: {
        scripted: fakeServerConnection(fake.port),
        // The same server, declared Windows-hosted: "\" separates there.
        windows: { ...fakeServerConnection(fake.port), pathStyle: "windows" },
        // The same server by name, without the opt-in: the fence keeps it out.
        internal: { host: "localhost", port: fake.port, anonymous: true, secure: false, roots: ["/outbox"] },
      },
      transfer: { deadlineMarginSeconds: 3 },
    });
  });
  afterAll(async () => {
    await rig.close();
    await fake?.close();
  });
  afterEach(() => rig.clearLogs());

  it("copies the file and answers 200 with the result", async () => {
    // Arrange
    const data = randomFile(7 * MiB);
    await rig.serve("outbox/report 1.csv", data);

    // Act
    const response = await callApi(rig, "POST", "/transfers", {
      connection: "partner",
      path: "/outbox/report 1.csv",
    });

    // Assert
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toBe("application/json");
    expect(response.body).toMatchObject({
      bucket,
      key: "landing/partner/outbox/report 1.csv",
      bytes: data.length,
      sha256: sha256(data),
      ftpReply: { code: 226 },
      sizeCheck: "matched",
    });
    expect(typeof response.body.id).toBe("string");
    expect(sha256(await readObject(rig.s3, bucket, "landing/partner/outbox/report 1.csv"))).toBe(
      sha256(data),
    );
  });

  it("logs started, progress with growing bytes, and completed, each with the transfer's keys, never the password", async () => {
    await rig.serve("outbox/logged.bin", randomFile(6 * MiB));

    await callApi(rig, "POST", "/transfers", {
      connection: "partner",
      path: "/outbox/logged.bin",
      key: "in/logged.bin",
    });

    const logs = rig.logs().filter((l) => typeof l.message === "string" && l.message.startsWith("transfer"));
    expect(logs.map((l) => l.message)).toEqual(
      expect.arrayContaining(["transfer started", "transfer progress", "transfer completed"]),
    );
    for (const line of logs) {
      expect(line).toMatchObject({
        service: "ftp2s3",
        trigger: "api",
        connection: "partner",
        path: "/outbox/logged.bin",
        bucket,
        key: "landing/partner/in/logged.bin",
        function_name: "ftp2s3",
      });
    }
    const progress = logs.filter((l) => l.message === "transfer progress").map((l) => l.bytes as number);
    expect(progress.length).toBeGreaterThan(1);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress.at(-1)).toBe(6 * MiB);
    expect(rig.rawLines().join("\n")).not.toContain(rig.ftp.password);
  });

  it("publishes EMF metrics with the trigger as a dimension", async () => {
    await rig.serve("outbox/metered.bin", randomFile(1000));

    await callApi(rig, "POST", "/transfers", { connection: "partner", path: "/outbox/metered.bin" });

    const emf = rig.logs().find((l) => "_aws" in l) as Record<string, unknown> | undefined;
    expect(emf).toMatchObject({
      trigger: "api",
      service: "ftp2s3",
      BytesTransferred: 1000,
      TransferFailed: 0,
    });
    expect(JSON.stringify(emf?._aws)).toContain('"Name":"TransferDuration","Unit":"Milliseconds"');
  });

  it("reads the password from Secrets Manager once and caches it across invocations", async () => {
    await rig.serve("outbox/cached.bin", randomFile(10));
    const before = rig.secrets.commandCalls(GetSecretValueCommand).length;

    await callApi(rig, "POST", "/transfers", {
      connection: "partner",
      path: "/outbox/cached.bin",
      key: "c1",
    });
    await callApi(rig, "POST", "/transfers", {
      connection: "partner",
      path: "/outbox/cached.bin",
      key: "c2",
    });

    expect(rig.secrets.commandCalls(GetSecretValueCommand).length - before).toBeLessThanOrEqual(1);
    expect(await objectExists(rig.s3, bucket, "landing/partner/c2")).toBe(true);
  });

  it.each([
    [{ path: "/outbox/x" }, "connection: Invalid input: expected string, received undefined"],
    [{ connection: "partner", path: 7 }, "path: Invalid input: expected string, received number"],
    [{ connection: "partner", path: "/outbox/x", colour: "red" }, 'Unrecognized key: "colour"'],
    [{ connection: "partner", path: "/outbox/x", mirrored: true }, '"mirrored" is set by ftp2s3'],
    [{ connection: "partner", path: "outbox/x" }, "is not absolute"],
    [{ connection: "partner", path: "/outbox/a\r\nDELE b" }, "contains CR, LF or NUL"],
    ["{not json", "the request body is not JSON"],
  ])("answers 400 naming what is wrong in %j", async (body, message) => {
    const response = await callApi(rig, "POST", "/transfers", body);

    expect(response.statusCode).toBe(400);
    expect(response.body.error).toMatchObject({ code: "INVALID_INPUT" });
    expect((response.body.error as { message: string }).message).toContain(message);
  });

  it.each([
    [{ connection: "nobody", path: "/outbox/x" }, 'no connection named "nobody" is configured'],
    [
      { connection: "partner", path: "/etc/passwd" },
      '/etc/passwd is outside the roots of connection "partner"',
    ],
    [{ connection: "partner", path: "/outbox/../etc/passwd" }, "/etc/passwd is outside the roots"],
    [{ connection: "partner", path: "/outbox2/x" }, "/outbox2/x is outside the roots"],
    [{ connection: "toString", path: "/outbox/x" }, 'no connection named "toString"'],
    [{ connection: "partner", path: "/outbox/x", key: "../up" }, 'leaves connection "partner"\'s key space'],
  ])("answers 403 for %j, before any FTP command", async (body, message) => {
    const commandsBefore = fake?.commands.length;

    const response = await callApi(rig, "POST", "/transfers", body);

    expect(response.statusCode).toBe(403);
    expect(response.body.error).toEqual({ code: "NOT_ALLOWED", message: expect.stringContaining(message) });
    expect(fake?.commands.length).toBe(commandsBefore);
  });

  it("answers 400 for a backslash path that would leave the root on a Windows-hosted server, before any FTP command", async () => {
    const commandsBefore = fake?.commands.length;

    const response = await callApi(rig, "POST", "/transfers", {
      connection: "scripted",
      path: "/outbox/..\\..\\etc\\passwd",
    });

    expect(response.statusCode).toBe(400);
    expect(response.body.error).toEqual({
      code: "INVALID_INPUT",
      message: expect.stringContaining('contains "\\", which connection "scripted" refuses'),
    });
    expect(fake?.commands.slice(commandsBefore)).toEqual([]);
  });

  it("on a Windows-style connection, reads \\ as a separator: refuses the escape, sends the checked path", async () => {
    const commandsBefore = fake?.commands.length ?? 0;

    const outside = await callApi(rig, "POST", "/transfers", {
      connection: "windows",
      path: "/outbox\\..\\etc\\passwd",
    });
    const inside = await callApi(rig, "POST", "/transfers", {
      connection: "windows",
      path: "/outbox\\sub\\..\\windows.bin",
    });

    expect(outside.statusCode).toBe(403);
    expect(outside.body.error).toEqual({
      code: "NOT_ALLOWED",
      message: '/etc/passwd is outside the roots of connection "windows"',
    });
    expect(inside.statusCode).toBe(200);
    expect(inside.body).toMatchObject({ key: "landing/windows/outbox/windows.bin", bytes: 1000 });
    const retrs = fake?.commands.slice(commandsBefore).filter((command) => command.startsWith("RETR"));
    expect(retrs).toEqual(["RETR /outbox/windows.bin"]);
  });

  it("answers 403 for a connection whose host is a loopback address it does not allow", async () => {
    const response = await callApi(rig, "POST", "/transfers", {
      connection: "internal",
      path: "/outbox/x.bin",
    });

    expect(response.statusCode).toBe(403);
    expect(response.body.error).toEqual({
      code: "NOT_ALLOWED",
      message: expect.stringMatching(
        /^connection "internal": localhost \((127\.0\.0\.1|::1)\) is a loopback address; set "allowPrivateAddresses": true on the connection to allow it$/,
      ),
    });
  });

  it("answers 404 for an FTP 550", async () => {
    const response = await callApi(rig, "POST", "/transfers", {
      connection: "scripted",
      path: "/outbox/gone.bin",
    });

    expect(response.statusCode).toBe(404);
    expect(response.body.error).toMatchObject({ code: "FTP_REPLY", ftpCode: 550 });
  });

  it("answers 409 when the key exists and overwrite is false, and replaces it with overwrite", async () => {
    await rig.serve("outbox/twice.bin", randomFile(10));
    const request = { connection: "partner", path: "/outbox/twice.bin" };
    await callApi(rig, "POST", "/transfers", request);

    const refused = await callApi(rig, "POST", "/transfers", request);
    const replaced = await callApi(rig, "POST", "/transfers", { ...request, overwrite: true });

    expect(refused.statusCode).toBe(409);
    expect(refused.body.error).toMatchObject({ code: "OBJECT_EXISTS" });
    expect(replaced.statusCode).toBe(200);
  });

  it("answers 502 naming the reply when the final FTP reply is an error, and stores nothing", async () => {
    const response = await callApi(rig, "POST", "/transfers", {
      connection: "scripted",
      path: "/outbox/aborted.bin",
    });

    expect(response.statusCode).toBe(502);
    expect(response.body.error).toEqual({
      code: "FTP_REPLY",
      ftpCode: 426,
      message: expect.stringMatching(
        /RETR ftp:\/\/u@127\.0\.0\.1:\d+\/outbox\/aborted\.bin failed: 426 Transfer aborted\./,
      ),
    });
    expect(await objectExists(rig.s3, bucket, "landing/scripted/outbox/aborted.bin")).toBe(false);
    expect(rig.recorder.openUploads()).toEqual([]);
  });

  it("answers 504 when the deadline arrives mid-transfer, leaving no object and no open upload", async () => {
    // 12 MiB at 64 KiB per 20 ms takes about 4 s; the deadline margin (3 s) fires after 1 s.
    const response = await callApi(
      rig,
      "POST",
      "/transfers",
      { connection: "scripted", path: "/outbox/slow.bin" },
      4000,
    );

    expect(response.statusCode).toBe(504);
    expect(response.body.error).toMatchObject({ code: "TIMEOUT" });
    expect(await objectExists(rig.s3, bucket, "landing/scripted/outbox/slow.bin")).toBe(false);
    expect(rig.recorder.openUploads()).toEqual([]);
    expect(rig.logs().find((l) => l.message === "transfer failed")).toMatchObject({ code: "TIMEOUT" });
    expect(rig.logs().map((l) => l.message)).toContain(
      `ftp://u@127.0.0.1:${fake?.port}/outbox/slow.bin cannot be resumed if it runs out of time: the server gave no SIZE or no MDTM`,
    );
  });

  it.each([
    ["DELETE", "/transfers", 405],
    ["POST", "/transfers/some-id", 405],
    ["POST", "/other", 404],
    ["GET", "/", 404],
  ])("answers %s %s with %i", async (method, path, status) => {
    const response = await callApi(rig, method, path);

    expect(response.statusCode).toBe(status);
    if (status === 405) expect(response.headers.allow).toBe(path === "/transfers" ? "GET, POST" : "GET");
  });

  it("queues an async request (202) and the queue trigger copies it", async () => {
    const data = randomFile(2000);
    await rig.serve("outbox/later.bin", data);

    const response = await callApi(rig, "POST", "/transfers", {
      connection: "partner",
      path: "/outbox/later.bin",
      async: true,
    });
    expect(response.statusCode).toBe(202);
    expect(response.body).toEqual({ id: expect.any(String), status: "queued" });
    expect(await objectExists(rig.s3, bucket, "landing/partner/outbox/later.bin")).toBe(false);

    const messages = await rig.receive();
    expect(messages).toHaveLength(1);
    expect(JSON.parse(messages[0]?.body ?? "")).toEqual({
      connection: "partner",
      path: "/outbox/later.bin",
      transferId: response.body.id,
    });
    const batch = await rig.invoke(sqsEvent(...messages));

    expect(batch).toEqual({ batchItemFailures: [] });
    expect(await readObject(rig.s3, bucket, "landing/partner/outbox/later.bin")).toEqual(data);
    const completed = rig.logs().find((l) => l.message === "transfer completed");
    expect(completed).toMatchObject({ transferId: response.body.id, trigger: "queue" });
  });

  it("answers 409 SOURCE_CHANGED for a file that grew during the copy, storing nothing", async () => {
    const response = await callApi(rig, "POST", "/transfers", {
      connection: "scripted",
      path: "/outbox/growing-api.bin",
    });

    expect(response.statusCode).toBe(409);
    expect(response.body).toMatchObject({
      error: {
        code: "SOURCE_CHANGED",
        message: expect.stringMatching(
          /growing-api\.bin changed while it was copied \(it was 1000 bytes .*, it is now 1100 bytes .*\): nothing was stored, it is left for the next run$/,
        ),
      },
    });
    expect(await objectExists(rig.s3, bucket, "landing/scripted/outbox/growing-api.bin")).toBe(false);
  });

  it("returns a queued copy that met SOURCE_CHANGED to the queue; the retry copies the file whole", async () => {
    const message = sqsRecord(JSON.stringify({ connection: "scripted", path: "/outbox/growing-queued.bin" }));

    const first = await rig.invoke(sqsEvent(message));
    const retried = await rig.invoke(sqsEvent(message));

    expect(first).toEqual({ batchItemFailures: [{ itemIdentifier: message.messageId }] });
    expect(retried).toEqual({ batchItemFailures: [] });
    expect(await readObject(rig.s3, bucket, "landing/scripted/outbox/growing-queued.bin")).toHaveLength(1100);
  });

  it("refuses to queue a request outside the fence (403 now, not a poison message later)", async () => {
    const response = await callApi(rig, "POST", "/transfers", {
      connection: "partner",
      path: "/etc/x",
      async: true,
    });

    expect(response.statusCode).toBe(403);
    expect(await rig.receive()).toEqual([]);
  });
});

describe("API trigger against a hostile FTP server: every phase obeys the deadline, nothing leaks", () => {
  let rig: LambdaRig;
  const servers: FakeFtpServer[] = [];
  const password = "partner-secret-pw"; // the rig's secret
  beforeAll(async () => {
    const files = { "/outbox/f.bin": randomFile(1000) };
    const greeting = await startFakeFtpServer({ files, greeting: trickleLines("220-hold on", 200) });
    const size = await startFakeFtpServer({ files, handlers: { SIZE: trickleLines("213-counting", 200) } });
    const echo = await startFakeFtpServer({
      files,
      handlers: {
        PASS: (ctx) =>
          ctx.reply(`530 Login incorrect: password ${ctx.arg} (${Buffer.from(ctx.arg).toString("base64")})`),
      },
    });
    servers.push(greeting, size, echo);
    // A minute of idle timeout: only the deadline can stop these sessions in time.
    const patient = (port: number) => ({ ...fakeServerConnection(port), timeoutSeconds: 60 });
    rig = await startLambdaRig({
      connections: {
        greeting: patient(greeting.port),
        size: patient(size.port),
        echo: patient(echo.port),
      },
      transfer: { deadlineMarginSeconds: 3 },
    });
  });
  afterAll(async () => {
    await rig.close();
    await Promise.all(servers.map((server) => server.close()));
  });
  afterEach(() => rig.clearLogs());

  it.each([
    ["greeting", '"220-" lines trickled instead of a greeting'],
    ["size", 'a SIZE reply trickled as "213-" lines'],
  ])(
    "%s: %s meets the deadline: 504 JSON TIMEOUT, one transfer failed line, a TransferFailed metric",
    async (connection) => {
      // 4 s left with a 3 s margin: the deadline fires after 1 s, long before the 60 s idle timeout.
      const response = await callApi(rig, "POST", "/transfers", { connection, path: "/outbox/f.bin" }, 4000);

      expect(response.statusCode).toBe(504);
      expect(response.body.error).toEqual({
        code: "TIMEOUT",
        message: "stopped 3 s before the Lambda deadline; the upload was aborted",
      });
      const failed = rig.logs().filter((l) => l.message === "transfer failed");
      expect(failed).toEqual([expect.objectContaining({ code: "TIMEOUT", connection, level: "ERROR" })]);
      const emf = rig.logs().find((l) => "_aws" in l);
      expect(emf).toMatchObject({ TransferFailed: 1, trigger: "api" });
      expect(await objectExists(rig.s3, bucket, `landing/${connection}/outbox/f.bin`)).toBe(false);
    },
  );

  it("530 echoing the password: 502 FTP_LOGIN, and the password is in neither the body nor any log line", async () => {
    const response = await callApi(rig, "POST", "/transfers", { connection: "echo", path: "/outbox/f.bin" });

    expect(response.statusCode).toBe(502);
    expect(response.body.error).toEqual({
      code: "FTP_LOGIN",
      message: expect.stringMatching(
        /login as "u" refused: 530 Login incorrect: password \*\*\* \(\*\*\*\)$/,
      ),
    });
    expect(rig.logs().find((l) => l.message === "transfer failed")).toMatchObject({ code: "FTP_LOGIN" });
    const everything = `${JSON.stringify(response.body)}\n${rig.rawLines().join("\n")}`;
    expect(everything).not.toContain(password);
    expect(everything).not.toContain(Buffer.from(password).toString("base64"));
  });
});
