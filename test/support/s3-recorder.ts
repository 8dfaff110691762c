import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { sigv4Holds } from "./sigv4-check.js";

/** One S3 request as it reached the server, named by what it does. */
export interface RecordedS3Request {
  operation:
    | "CreateMultipartUpload"
    | "UploadPart"
    | "CompleteMultipartUpload"
    | "AbortMultipartUpload"
    | "ListParts"
    | "ListMultipartUploads"
    | "PutObject"
    | "PutObjectTagging"
    | "HeadObject"
    | "HeadBucket"
    | "GetObject"
    | "ListObjectsV2"
    | "DeleteObjects"
    | "Other";
  method: string;
  path: string;
  uploadId: string | undefined;
  /** The If-None-Match header the request carried ("*" on a conditional write). */
  ifNoneMatch: string | undefined;
  /** The headers that say where and how an object lands: content-type, content-md5 and every x-amz-* one. */
  headers: Record<string, string>;
  status: number;
}

/**
 * Decides the answer to a request instead of the server: a status fails it, `{ delayMs }` passes it on
 * that much later (a slow S3), `{ until }` once the promise settles, undefined passes it on at once.
 */
export type S3Fault = (request: {
  operation: RecordedS3Request["operation"];
  partNumber: number | undefined;
}) => number | { delayMs: number } | { until: Promise<void> } | undefined;

export interface S3Recorder {
  endpoint: string;
  requests: RecordedS3Request[];
  /** Set or clear the fault injected into the following requests. */
  fault: S3Fault | undefined;
  /** Upload ids created and then neither completed nor aborted with a 2xx: what a failure must never leave. */
  openUploads(): string[];
  close(): Promise<void>;
}

/**
 * An HTTP proxy in front of an S3-compatible server that records every request the SDK sends, so a
 * test sees what really went over the wire, including the upload ids and whether S3 accepted the
 * abort. It can also answer chosen requests with an error status, to play a failing S3.
 */
export async function startS3Recorder(
  targetEndpoint: string,
  options: {
    /**
     * Play S3's conditional writes, which fauxqs and s3rver ignore: a PutObject or
     * CompleteMultipartUpload with `If-None-Match: *` to a key that holds an object gets 412. Such
     * writes to one key are decided one at a time (a HEAD to the server first), as S3 decides them.
     */
    conditionalWrites?: boolean;
    /** Check every request's SigV4 signature with this secret (test/support/sigv4-check.ts); 403 if wrong. */
    sigv4Secret?: string;
  } = {},
): Promise<S3Recorder> {
  const target = new URL(targetEndpoint);
  const requests: RecordedS3Request[] = [];
  const writing = new Map<string, Promise<void>>();
  const recorder: S3Recorder = {
    endpoint: "",
    requests,
    fault: undefined,
    openUploads() {
      const created = requests
        .filter((r) => r.operation === "CreateMultipartUpload" && r.uploadId !== undefined)
        .map((r) => r.uploadId as string);
      return created.filter(
        (id) =>
          !requests.some(
            (r) =>
              r.uploadId === id &&
              (r.operation === "CompleteMultipartUpload" || r.operation === "AbortMultipartUpload") &&
              r.status >= 200 &&
              r.status < 300,
          ),
      );
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://recorder");
    const operation = classify(req.method ?? "GET", url);
    const partNumber = url.searchParams.has("partNumber")
      ? Number(url.searchParams.get("partNumber"))
      : undefined;
    const record: RecordedS3Request = {
      operation,
      method: req.method ?? "GET",
      path: url.pathname,
      uploadId: url.searchParams.get("uploadId") ?? undefined,
      ifNoneMatch: req.headers["if-none-match"],
      headers: landingHeaders(req),
      status: 0,
    };
    requests.push(record);
    const conditional =
      options.conditionalWrites === true &&
      req.headers["if-none-match"] === "*" &&
      (operation === "PutObject" || operation === "CompleteMultipartUpload");
    const pass = () =>
      conditional ? writeIfAbsent(req, res, url.pathname, record) : forward(req, res, target, record);
    if (options.sigv4Secret !== undefined && !sigv4Holds(req, options.sigv4Secret)) {
      req.resume();
      record.status = 403;
      res.writeHead(403, { "content-type": "application/xml" });
      res.end(
        `<?xml version="1.0"?><Error><Code>SignatureDoesNotMatch</Code><Message>checked by the test</Message></Error>`,
      );
      return;
    }
    const fault = recorder.fault?.({ operation, partNumber });
    if (typeof fault === "object") {
      // Hold the request back, its body unread meanwhile, as a slow server would.
      req.pause();
      if ("until" in fault) void fault.until.then(pass, pass);
      else setTimeout(pass, fault.delayMs);
      return;
    }
    const faultStatus = fault;
    if (faultStatus !== undefined) {
      req.resume();
      record.status = faultStatus;
      res.writeHead(faultStatus, { "content-type": "application/xml" });
      res.end(
        `<?xml version="1.0"?><Error><Code>InjectedFault</Code><Message>injected by the test</Message></Error>`,
      );
      return;
    }
    pass();
  });

  /** A conditional write: 412 when the key holds an object, else on to the server; one at a time per key. */
  function writeIfAbsent(req: IncomingMessage, res: ServerResponse, key: string, record: RecordedS3Request) {
    req.pause();
    const turn = (writing.get(key) ?? Promise.resolve()).then(async () => {
      if (await exists(target, key)) {
        req.resume();
        record.status = 412;
        res.writeHead(412, { "content-type": "application/xml" });
        res.end(
          `<?xml version="1.0"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>If-None-Match</Condition></Error>`,
        );
        return;
      }
      await new Promise<void>((done) => {
        res.on("close", done);
        forward(req, res, target, record);
      });
    });
    writing.set(
      key,
      turn.catch(() => {}),
    );
  }
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  recorder.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return recorder;
}

function forward(req: IncomingMessage, res: ServerResponse, target: URL, record: RecordedS3Request): void {
  const upstream = httpRequest(
    {
      host: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      // The signature covers the Host header; keep the one the SDK signed.
      headers: req.headers,
    },
    (upstreamRes) => {
      record.status = upstreamRes.statusCode ?? 0;
      const chunks: Buffer[] = [];
      upstreamRes.on("data", (chunk: Buffer) => chunks.push(chunk));
      upstreamRes.on("end", () => {
        const body = Buffer.concat(chunks);
        if (record.operation === "CreateMultipartUpload") {
          record.uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(body.toString("utf8"))?.[1];
        }
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        res.end(body);
      });
    },
  );
  upstream.on("error", () => {
    record.status = 502;
    res.destroy();
  });
  req.pipe(upstream);
}

/** Whether the server holds an object at this path (an unsigned HEAD: fauxqs takes any request). */
function exists(target: URL, pathname: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const head = httpRequest(
      { host: target.hostname, port: target.port, method: "HEAD", path: pathname },
      (response) => {
        response.resume();
        resolve(response.statusCode === 200);
      },
    );
    head.on("error", reject);
    head.end();
  });
}

function classify(method: string, url: URL): RecordedS3Request["operation"] {
  const q = url.searchParams;
  if (method === "POST" && q.has("uploads")) return "CreateMultipartUpload";
  if (method === "PUT" && q.has("uploadId") && q.has("partNumber")) return "UploadPart";
  if (method === "POST" && q.has("uploadId")) return "CompleteMultipartUpload";
  if (method === "DELETE" && q.has("uploadId")) return "AbortMultipartUpload";
  if (method === "GET" && q.has("uploadId")) return "ListParts";
  if (method === "GET" && q.has("uploads")) return "ListMultipartUploads";
  if (method === "PUT" && q.has("tagging")) return "PutObjectTagging";
  if (method === "PUT") return "PutObject";
  if (method === "HEAD")
    return url.pathname.split("/").filter(Boolean).length > 1 ? "HeadObject" : "HeadBucket";
  if (method === "GET" && q.get("list-type") === "2") return "ListObjectsV2";
  if (method === "POST" && q.has("delete")) return "DeleteObjects";
  if (method === "GET" && url.pathname.split("/").filter(Boolean).length > 1) return "GetObject";
  return "Other";
}

function landingHeaders(req: IncomingMessage): Record<string, string> {
  return Object.fromEntries(
    Object.entries(req.headers).flatMap(([name, value]) =>
      (name.startsWith("x-amz-") || name === "content-type" || name === "content-md5") &&
      typeof value === "string"
        ? [[name, value]]
        : [],
    ),
  );
}
