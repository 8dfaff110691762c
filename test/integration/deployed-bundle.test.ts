import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedDynamoDb, startDynalite } from "../support/embedded-dynamodb.js";
import { type EmbeddedFtpServer, startEmbeddedFtp } from "../support/embedded-ftp.js";
import { type EmbeddedS3Server, startFauxqsS3, startS3rver } from "../support/embedded-s3.js";
import { lambdaBootstrapArgs } from "../support/lambda-bootstrap.js";
import { sqsEvent, sqsRecord, urlRequest } from "../support/lambda-events.js";
import { createLedgerTable } from "../support/ledger-table.js";
import { randomFile, readObject, sha256 } from "../support/objects.js";
import { type RuntimeApi, startRuntimeApi } from "../support/runtime-api.js";
import { synth } from "../unit/infra/synth.js";

/**
 * The artifact that is deployed, run as Lambda runs it: the asset `cdk synth` bundles, started by a
 * runtime client against a Runtime API on loopback, with the environment the template gives the
 * function (its references resolved to local servers). It catches what source-level tests cannot:
 * bundling, the handler path, the environment, error names.
 *
 * By default the runtime client is scripts/lambda-runtime-loop.mjs, a minimal stand-in for
 * aws-lambda-ric, whose native build (curl and aws-lambda-cpp from source) takes 8 to 14 minutes
 * here. CI runs the same test under the real client: `scripts/install-lambda-ric.sh DIR` builds it
 * and a Node 22 binary (the template's runtime) into DIR, then FTP2S3_RIC_DIR names its package
 * folder (DIR/ric/node_modules/aws-lambda-ric), FTP2S3_RUNTIME_NODE that node
 * (DIR/node/node_modules/.bin/node) and FTP2S3_RIC_REQUIRE=1 makes the test fail, rather than fall
 * back to the loop, without them.
 * Either way the test checks, by the User-Agent of its requests, that the client named is the one
 * that served the invocations.
 */
const ricDir = process.env.FTP2S3_RIC_DIR;
const ricRequired = process.env.FTP2S3_RIC_REQUIRE === "1";
const runtimeNode = process.env.FTP2S3_RUNTIME_NODE ?? process.execPath;
// aws-lambda-ric talks to the Runtime API through aws-lambda-cpp (curl); the loop through Node's fetch.
const clientUserAgent = ricDir === undefined ? /^node$/ : /^AWS_Lambda_Cpp\/\d+\.\d+/;
const loop = fileURLToPath(new URL("../../scripts/lambda-runtime-loop.mjs", import.meta.url));
const heapProbe = fileURLToPath(new URL("../support/heap-probe.cjs", import.meta.url));
const bucket = "landing-bucket";
const region = "us-east-1";
const functionArn = "arn:aws:lambda:us-east-1:000000000000:function:ftp2s3";

describe(`the deployed bundle under ${ricDir === undefined ? "a minimal runtime loop" : "aws-lambda-ric"}`, () => {
  let work: string;
  let ftp: EmbeddedFtpServer;
  let s3: EmbeddedS3Server;
  let sqs: Awaited<ReturnType<typeof startFauxqsS3>>;
  let secrets: Server;
  let dynamo: EmbeddedDynamoDb;
  /** EventBridge's stand-in: the PutEvents bodies it was sent. */
  let eventBus: Server;
  const putEvents: string[] = [];
  let runtime: RuntimeApi;
  let fn: ChildProcess;
  const output: string[] = [];
  let environment: Record<string, string>;
  let templateRuntime: string;

  beforeAll(async () => {
    if (ricRequired && ricDir === undefined) {
      throw new Error(
        "FTP2S3_RIC_REQUIRE=1 but FTP2S3_RIC_DIR is not set: run scripts/install-lambda-ric.sh DIR and " +
          "set FTP2S3_RIC_DIR=DIR/ric/node_modules/aws-lambda-ric " +
          "FTP2S3_RUNTIME_NODE=DIR/node/node_modules/.bin/node",
      );
    }
    work = await mkdtemp(join(tmpdir(), "ftp2s3-deployed-"));
    ftp = await startEmbeddedFtp({ root: join(work, "ftp"), password: "partner-secret-pw" });
    s3 = await startS3rver(join(work, "s3"));
    await s3.createBucket(bucket);
    sqs = await startFauxqsS3();
    const queueUrl = await sqs.createQueue("ingest");
    const secretValues = new Map<string, string>();
    secrets = await startSecretsManager(secretValues);
    dynamo = await startDynalite();
    const dynamoClient = dynamo.client();
    await createLedgerTable(dynamoClient, "ledger");
    dynamoClient.destroy();
    eventBus = await startEventBus(putEvents);

    // The sample stack, its partner connection pointed at the loopback server, bundled as cdk synth does.
    const outdir = join(work, "cdk.out");
    synth(
      (json) => {
        json.connections["partner-ftp"] = {
          ...json.connections["partner-ftp"],
          host: "127.0.0.1",
          port: ftp.port,
          user: ftp.user,
          secure: false,
          allowPrivateAddresses: true,
          timeoutSeconds: 5,
        };
      },
      { bundle: true, outdir },
    );
    const template = JSON.parse(await readFile(join(outdir, "Test.template.json"), "utf8"));
    const [fnResource] = Object.values(template.Resources).filter(
      (r) => (r as { Type: string }).Type === "AWS::Lambda::Function",
    ) as { Properties: FunctionProperties }[];
    const props = (fnResource as { Properties: FunctionProperties }).Properties;
    templateRuntime = props.Runtime;
    const assets = (await readdir(outdir)).filter((name) => name.startsWith("asset."));
    expect(assets).toHaveLength(1);
    const taskRoot = join(outdir, assets[0] as string);

    // Each reference in the template's environment, resolved to what stands in for it here.
    const resolveRef = (logicalId: string): string => {
      const type = template.Resources[logicalId]?.Type;
      if (type === "AWS::S3::Bucket") return bucket;
      if (type === "AWS::SQS::Queue") return queueUrl;
      if (type === "AWS::DynamoDB::Table") return "ledger";
      if (type === "AWS::SecretsManager::Secret") {
        const arn = `arn:aws:secretsmanager:${region}:000000000000:secret:${logicalId}`;
        secretValues.set(
          arn,
          logicalId.startsWith("ContinuationKey") ? "k".repeat(48) : (ftp.password as string),
        );
        return arn;
      }
      throw new Error(
        `the template's environment references ${logicalId} (${type}), which this test cannot stand in for`,
      );
    };
    const fromTemplate = Object.fromEntries(
      Object.entries(props.Environment.Variables).map(([name, value]) => [name, resolve(value, resolveRef)]),
    );
    environment = {
      ...fromTemplate,
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      TZ: ":UTC",
      LANG: "en_US.UTF-8",
      _HANDLER: props.Handler,
      LAMBDA_TASK_ROOT: taskRoot,
      AWS_EXECUTION_ENV: `AWS_Lambda_${props.Runtime}`,
      AWS_LAMBDA_RUNTIME_API: "",
      AWS_LAMBDA_FUNCTION_NAME: "ftp2s3",
      AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(props.MemorySize),
      AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
      AWS_LAMBDA_LOG_GROUP_NAME: "/aws/lambda/ftp2s3",
      AWS_LAMBDA_LOG_STREAM_NAME: "local",
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      // s3rver checks signatures with its own keys; fauxqs and the secrets stand-in take any.
      AWS_ACCESS_KEY_ID: s3.env.AWS_ACCESS_KEY_ID as string,
      AWS_SECRET_ACCESS_KEY: s3.env.AWS_SECRET_ACCESS_KEY as string,
      AWS_SESSION_TOKEN: "local",
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_ENDPOINT_URL_SQS: sqs.endpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: `http://127.0.0.1:${(secrets.address() as AddressInfo).port}`,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_EVENTBRIDGE: `http://127.0.0.1:${(eventBus.address() as AddressInfo).port}`,
    };

    runtime = await startRuntimeApi(functionArn);
    environment.AWS_LAMBDA_RUNTIME_API = runtime.address;
    const client = ricDir === undefined ? [loop] : [join(ricDir, "index.mjs"), props.Handler];
    // Started as the managed runtime starts it: its bootstrap's node flags, then the client.
    const args = [...lambdaBootstrapArgs(environment), "--require", heapProbe, ...client];
    fn = spawn(runtimeNode, args, { cwd: taskRoot, env: environment, stdio: ["ignore", "pipe", "pipe"] });
    for (const stream of [fn.stdout, fn.stderr]) {
      stream?.setEncoding("utf8");
      stream?.on("data", (text: string) => {
        output.push(...text.split("\n").filter(Boolean));
        if (process.env.FTP2S3_TEST_LOGS) process.stderr.write(text);
      });
    }
    await mkdir(join(ftp.root, "outbox"), { recursive: true });
  }, 90_000);

  afterAll(async () => {
    fn?.kill();
    await runtime?.close();
    await new Promise((resolve) => secrets?.close(resolve));
    await new Promise((resolve) => eventBus?.close(resolve));
    await dynamo?.close();
    await ftp?.close();
    await s3?.close();
    await sqs?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** The function's structured log lines (Powertools JSON) so far. */
  const logLines = () =>
    output
      .map((line) => line.slice(line.indexOf("{")))
      .filter((line) => line.startsWith("{"))
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      });

  it("copies a file for a Function URL request, answering 200 with the object's key", async () => {
    // Arrange
    const data = randomFile(3 * 1024 * 1024 + 17);
    await writeFile(join(ftp.root, "outbox", "report.csv"), data);

    // Act
    const outcome = await runtime.invoke(
      urlRequest("POST", "/transfers", { connection: "partner-ftp", path: "/outbox/report.csv" }),
    );

    // Assert: a 200 whose key holds the file's bytes
    expect(outcome.kind, JSON.stringify(outcome)).toBe("response");
    const response = (outcome as { body: { statusCode: number; body: string } }).body;
    expect(response.statusCode, response.body).toBe(200);
    const result = JSON.parse(response.body) as { key: string; bytes: number };
    expect(result).toMatchObject({ bucket, bytes: data.length });
    expect(sha256(await readObject(s3.client(), bucket, result.key))).toBe(sha256(data));
    const completed = logLines().find((l) => l.message === "transfer completed");
    expect(completed).toMatchObject({ service: "ftp2s3", cold_start: true, trigger: "api" });
    // The ledger (the template's table) took the transfer, and the default bus heard of the object.
    const [put] = putEvents.map((body) => JSON.parse(body).Entries[0]);
    expect(put).toMatchObject({ EventBusName: "default", Source: "ftp2s3", DetailType: "Object Ingested" });
    expect(JSON.parse(put.Detail)).toMatchObject({ key: result.key, bytes: data.length });
  });

  it("copies an SQS batch's file in a warm invocation, reporting no batch item failure", async () => {
    // Arrange
    const data = randomFile(1000);
    await writeFile(join(ftp.root, "outbox", "queued.bin"), data);

    // Act
    const outcome = await runtime.invoke(
      sqsEvent(sqsRecord(JSON.stringify({ connection: "partner-ftp", path: "/outbox/queued.bin" }))),
    );

    // Assert
    expect(outcome).toEqual({ kind: "response", body: { batchItemFailures: [] } });
    const completed = logLines().find(
      (l) => l.message === "transfer completed" && l.path === "/outbox/queued.bin",
    );
    expect(completed).toMatchObject({ cold_start: false, trigger: "queue" });
    expect(sha256(await readObject(s3.client(), bucket, completed?.key as string))).toBe(sha256(data));
  });

  it("reports a failed invocation by its error class's name", async () => {
    // Act: a scheduled mirror naming no configured connection
    const outcome = await runtime.invoke({ mirror: { connection: "nope", remoteDir: "/d", prefix: "p/" } });

    // Assert
    expect(outcome).toMatchObject({
      kind: "error",
      body: { errorType: "NotAllowedError", errorMessage: 'no connection named "nope" is configured' },
    });
  });

  const servedBy =
    ricDir === undefined ? "the loop" : "aws-lambda-ric, on the template's Node.js major version";
  it("gets the semi-space NODE_OPTIONS asks for: the runtime then passes no heap flags of its own", () => {
    // The function's NODE_OPTIONS names --max-semi-space-size, so the bootstrap passes neither of its
    // memory flags: the young generation is NODE_OPTIONS' (3 x 1 MiB) and the old space V8's default
    // for the machine's memory, as in a plain node given the same semi-space, not the bootstrap's.
    const probe = logLines().find((l) => l.heapProbe !== undefined)?.heapProbe as
      | { heapSizeLimit: number; execArgv: string[] }
      | undefined;
    expect(probe?.execArgv.filter((a) => /space-size/.test(a))).toEqual([]);
    expect(environment.NODE_OPTIONS).toContain("--max-semi-space-size=1");
    const limitOf = (flags: string[]) =>
      Number(
        execFileSync(
          runtimeNode,
          [...flags, "-p", "require('node:v8').getHeapStatistics().heap_size_limit"],
          {
            env: { PATH: environment.PATH },
          },
        ).toString(),
      );
    expect(probe?.heapSizeLimit).toBe(limitOf(["--max-semi-space-size=1"]));
  });

  it(`was served by ${servedBy}`, () => {
    // Every request to the Runtime API came from the client named: the test cannot pass under another.
    expect(runtime.requests.length).toBeGreaterThan(0);
    for (const request of runtime.requests) {
      expect(request.userAgent, `${request.method} ${request.path}`).toMatch(clientUserAgent);
    }
    if (ricDir !== undefined) {
      const version = execFileSync(runtimeNode, ["--version"], { encoding: "utf8" }).trim();
      expect(`nodejs${version.slice(1).split(".")[0]}.x`).toBe(templateRuntime);
    }
  });
});

interface FunctionProperties {
  Handler: string;
  Runtime: string;
  MemorySize: number;
  Environment: { Variables: Record<string, unknown> };
}

/** A template value with its `Ref`s and `Fn::Join`s worked out; anything else is refused. */
function resolve(value: unknown, ref: (logicalId: string) => string): string {
  if (typeof value === "string") return value;
  const object = value as Record<string, unknown>;
  if (typeof object.Ref === "string") return ref(object.Ref);
  const join = object["Fn::Join"] as [string, unknown[]] | undefined;
  if (join !== undefined) return join[1].map((part) => resolve(part, ref)).join(join[0]);
  throw new Error(`cannot resolve ${JSON.stringify(value)} in the template's environment`);
}

/** Secrets Manager's GetSecretValue on loopback, for the secrets the template names. */
async function startSecretsManager(values: Map<string, string>): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const { SecretId } = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as {
        SecretId?: string;
      };
      const value = SecretId === undefined ? undefined : values.get(SecretId);
      res.setHeader("content-type", "application/x-amz-json-1.1");
      if (req.headers["x-amz-target"] !== "secretsmanager.GetSecretValue" || value === undefined) {
        res
          .writeHead(400)
          .end(JSON.stringify({ __type: "ResourceNotFoundException", message: `no secret ${SecretId}` }));
        return;
      }
      res
        .writeHead(200)
        .end(JSON.stringify({ ARN: SecretId, Name: SecretId, SecretString: value, VersionId: "v1" }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

/** EventBridge's PutEvents on loopback: takes every entry, keeping each request's body. */
async function startEventBus(bodies: string[]): Promise<Server> {
  const server = createServer((request, response) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => {
      body += chunk;
    });
    request.on("end", () => {
      bodies.push(body);
      response.writeHead(200, { "content-type": "application/x-amz-json-1.1" });
      response.end(JSON.stringify({ FailedEntryCount: 0, Entries: [{ EventId: `event-${bodies.length}` }] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}
