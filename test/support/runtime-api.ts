import { randomUUID } from "node:crypto";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** What the function answered to one invocation, as the Runtime API received it. */
export type RuntimeOutcome =
  | { kind: "response"; body: unknown }
  | { kind: "error"; errorType: string | undefined; body: { errorType?: string; errorMessage?: string } };

/** One request the runtime client made, with the User-Agent it sent (absent when it sent none). */
export interface RuntimeRequest {
  method: string;
  path: string;
  userAgent: string | undefined;
}

export interface RuntimeApi {
  /** host:port, the value of AWS_LAMBDA_RUNTIME_API. */
  address: string;
  /** Hands the function one event, as Lambda does, and resolves with its answer. */
  invoke(event: unknown, timeoutMs?: number): Promise<RuntimeOutcome>;
  /** The body of POST /runtime/init/error, when the function could not start. */
  initError: Promise<unknown>;
  /**
   * Every request the client made so far, in order. Their User-Agent tells which client it is:
   * aws-lambda-ric answers through aws-lambda-cpp's native client ("AWS_Lambda_Cpp/…").
   */
  requests: RuntimeRequest[];
  close(): Promise<void>;
}

const PREFIX = "/2018-06-01/runtime";

/**
 * The Lambda Runtime API on 127.0.0.1, as much of it as a Node.js runtime client uses: the next
 * invocation (long-polled), its response or error, and the init error.
 */
export async function startRuntimeApi(functionArn: string): Promise<RuntimeApi> {
  const waiting: ServerResponse[] = [];
  const queued: { id: string; event: unknown; deadlineMs: number }[] = [];
  const pending = new Map<string, (outcome: RuntimeOutcome) => void>();
  const requests: RuntimeRequest[] = [];
  let onInitError: (body: unknown) => void = () => {};
  const initError = new Promise<unknown>((resolve) => {
    onInitError = resolve;
  });

  const deliver = () => {
    while (waiting.length > 0 && queued.length > 0) {
      const res = waiting.shift() as ServerResponse;
      const next = queued.shift() as (typeof queued)[number];
      res.writeHead(200, {
        "content-type": "application/json",
        "lambda-runtime-aws-request-id": next.id,
        "lambda-runtime-deadline-ms": String(next.deadlineMs),
        "lambda-runtime-invoked-function-arn": functionArn,
        "lambda-runtime-trace-id": `Root=1-${Date.now().toString(16)}-${next.id.replaceAll("-", "").slice(0, 24)}`,
      });
      res.end(JSON.stringify(next.event));
    }
  };

  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? "", path: req.url ?? "", userAgent: req.headers["user-agent"] });
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const path = req.url ?? "";
      const text = Buffer.concat(chunks).toString("utf8");
      if (req.method === "GET" && path === `${PREFIX}/invocation/next`) {
        waiting.push(res);
        deliver();
        return;
      }
      const answer = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(path);
      if (req.method === "POST" && answer !== null) {
        const settle = pending.get(answer[1] as string);
        pending.delete(answer[1] as string);
        const body = text === "" ? null : JSON.parse(text);
        settle?.(
          answer[2] === "response"
            ? { kind: "response", body }
            : {
                kind: "error",
                errorType: req.headers["lambda-runtime-function-error-type"] as string | undefined,
                body,
              },
        );
        res.writeHead(settle === undefined ? 400 : 202).end(settle === undefined ? "" : '{"status":"OK"}');
        return;
      }
      if (req.method === "POST" && path === `${PREFIX}/init/error`) {
        onInitError(text === "" ? null : JSON.parse(text));
        res.writeHead(202).end('{"status":"OK"}');
        return;
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    address: `127.0.0.1:${port}`,
    initError,
    requests,
    invoke(event, timeoutMs = 900_000) {
      const id = randomUUID();
      return new Promise<RuntimeOutcome>((resolve) => {
        pending.set(id, resolve);
        queued.push({ id, event, deadlineMs: Date.now() + timeoutMs });
        deliver();
      });
    },
    close() {
      for (const res of waiting.splice(0)) res.destroy();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
