/**
 * An S3 endpoint that discards the bytes it receives: HTTP on 127.0.0.1 in the bench's own process,
 * path-style, no signature checked. It answers enough of the S3 API for ftp2s3 (copy, mirror and its
 * manifest) and rclone (copy, copyto), so that a bench run measures the client's cost, not an S3
 * server's (s3rver spends about 10 CPU s per GiB it receives, on the same cores as the client).
 *
 * - Bodies are read to their end and dropped; objects of at most KEEP_BYTES (the mirror's manifest) are
 *   kept, so that HeadObject, GetObject and the listing can show them again. Every object's key, size,
 *   ETag and user metadata stay, so ListObjectsV2 (and v1, which rclone uses for provider "Other"),
 *   paged by 1,000, lets a mirror rerun find its files unchanged.
 * - `aws-chunked` bodies (the SDK's flexible checksums on a streamed body) are decoded, their trailers
 *   read.
 * - Checksums are NOT verified: the x-amz-checksum-* a client sends (as a header or a trailer) are
 *   stored and echoed (UploadPart, PutObject, ListParts), as S3 does when they match.
 * - ETags: the Content-MD5 the client sent, when it sent one (rclone does), taken on trust; else the
 *   MD5 of a kept body; else the MD5 of the upload's identity (cheap, unique, not the bytes'). A
 *   multipart ETag is the MD5 of the parts' MD5s and "-N", as S3 makes it.
 */

import { execFileSync } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BodyReader } from "./aws-chunked.js";
import {
  completeXml,
  deleteResultXml,
  elementValues,
  errorXml,
  escapeXml,
  initiateXml,
  type ListedEntry,
  type ListPage,
  listPartsXml,
  listXml,
} from "./s3-xml.js";

/** Objects up to this size keep their bytes (the mirror's manifest); larger ones only their size and ETag. */
export const KEEP_BYTES = 1024 * 1024;
/** What a request body may be when the server must parse it (DeleteObjects, CompleteMultipartUpload). */
const XML_BODY_LIMIT = 16 * 1024 * 1024;
const CREDENTIALS = { accessKeyId: "DISCARD", secretAccessKey: "DISCARD-SECRET" };

interface StoredObject extends ListedEntry {
  /** Content-Type and x-amz-meta-* as the client sent them. */
  headers: Record<string, string>;
  body?: Buffer;
}

interface Part {
  size: number;
  etag: string;
  checksums: Record<string, string>;
}

interface Upload {
  bucket: string;
  key: string;
  headers: Record<string, string>;
  parts: Map<number, Part>;
}

export interface DiscardS3 {
  endpoint: string;
  /** With `tls`: the self-signed certificate's file, for a client that must trust it (rclone's --ca-cert). */
  caCert?: string;
  /** The environment for the SDK (and ftp2s3) to reach this server. */
  env: Record<string, string>;
  credentials: typeof CREDENTIALS;
  /** Requests by S3 operation and payload bytes received, since the last reset. */
  /** Requests by operation, body bytes read, and connections accepted (TCP, TLS included). */
  stats(): { requests: Record<string, number>; bytesReceived: number; connections: number };
  resetStats(): void;
  close(): Promise<void>;
}

const CHECKSUM_HEADER = /^x-amz-checksum-(crc32|crc32c|crc64nvme|sha1|sha256)$/;

function checksumsOf(req: IncomingMessage, trailers: Record<string, string>): Record<string, string> {
  const found: Record<string, string> = {};
  for (const [name, value] of Object.entries({ ...req.headers, ...trailers })) {
    if (CHECKSUM_HEADER.test(name) && typeof value === "string") found[name] = value;
  }
  return found;
}

/** Content-Type and the user metadata: what HeadObject shows again. */
function keptHeaders(req: IncomingMessage): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if ((name === "content-type" || name.startsWith("x-amz-meta-")) && typeof value === "string")
      kept[name] = value;
  }
  return kept;
}

const md5Hex = (data: Buffer | string) => createHash("md5").update(data).digest("hex");

/** The operation a request is, named as the SDK names its commands (without "Command"). */
function operationOf(method: string, key: string, query: URLSearchParams): string {
  if (key === "") {
    if (method === "PUT") return "CreateBucket";
    if (method === "HEAD") return "HeadBucket";
    if (method === "POST" && query.has("delete")) return "DeleteObjects";
    if (method === "GET" && query.has("location")) return "GetBucketLocation";
    if (method === "GET") return query.get("list-type") === "2" ? "ListObjectsV2" : "ListObjects";
    return `${method} bucket`;
  }
  if (method === "POST" && query.has("uploads")) return "CreateMultipartUpload";
  if (method === "PUT" && query.has("partNumber")) return "UploadPart";
  if (method === "POST" && query.has("uploadId")) return "CompleteMultipartUpload";
  if (method === "DELETE" && query.has("uploadId")) return "AbortMultipartUpload";
  if (method === "GET" && query.has("uploadId")) return "ListParts";
  if (method === "PUT" && query.has("tagging")) return "PutObjectTagging";
  if (method === "PUT") return "PutObject";
  if (method === "HEAD") return "HeadObject";
  if (method === "GET") return "GetObject";
  if (method === "DELETE") return "DeleteObject";
  return `${method} object`;
}

/** One page of `keys` (sorted) below `prefix`, after `after`, grouped at `delimiter` into common prefixes. */
function listPage(
  objects: Map<string, StoredObject>,
  prefix: string,
  delimiter: string,
  after: string,
  maxKeys: number,
): ListPage {
  const page: ListPage = { entries: [], commonPrefixes: [], truncated: false, cursor: undefined };
  const keys = [...objects.keys()].filter((k) => k.startsWith(prefix) && k > after).sort();
  for (const key of keys) {
    // A common prefix already returned (on this page or, as the cursor, on the last) covers its keys.
    const group = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
    const commonPrefix = group >= 0 ? key.slice(0, group + delimiter.length) : undefined;
    if (commonPrefix !== undefined && (commonPrefix === page.cursor || after.startsWith(commonPrefix)))
      continue;
    if (page.entries.length + page.commonPrefixes.length >= maxKeys) {
      page.truncated = true;
      break;
    }
    if (commonPrefix !== undefined) {
      page.commonPrefixes.push(commonPrefix);
      page.cursor = commonPrefix;
    } else {
      page.entries.push(objects.get(key)!);
      page.cursor = key;
    }
  }
  return page;
}

/**
 * A self-signed certificate for 127.0.0.1, made by openssl in a temp dir. S3 is HTTPS: TLS costs
 * both clients CPU, and ftp2s3 signs a checksummed part's payload UNSIGNED-PAYLOAD only over HTTPS
 * (over plain HTTP it hashes every byte for the signature), so a plain-HTTP endpoint would measure a
 * pipeline that never runs against AWS.
 */
function selfSignedCertificate(): { key: Buffer; cert: Buffer; certFile: string } {
  const dir = mkdtempSync(join(tmpdir(), "discard-s3-tls-"));
  const keyFile = join(dir, "key.pem");
  const certFile = join(dir, "cert.pem");
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"]
      .concat(["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"])
      .concat(["-keyout", keyFile, "-out", certFile]),
    { stdio: "ignore" },
  );
  return { key: readFileSync(keyFile), cert: readFileSync(certFile), certFile };
}

export async function startDiscardS3(options: { tls?: boolean } = {}): Promise<DiscardS3> {
  const buckets = new Map<string, Map<string, StoredObject>>();
  const uploads = new Map<string, Upload>();
  let requests: Record<string, number> = {};
  let bytesReceived = 0;
  let connections = 0;

  const bucketOf = (name: string) => {
    let objects = buckets.get(name);
    if (objects === undefined) {
      objects = new Map();
      buckets.set(name, objects);
    }
    return objects;
  };

  function send(
    res: ServerResponse,
    status: number,
    body = "",
    headers: Record<string, string | number> = {},
  ): void {
    res.writeHead(status, {
      "x-amz-request-id": randomUUID(),
      ...(body ? { "content-type": "application/xml" } : {}),
      "content-length": Buffer.byteLength(body),
      ...headers,
    });
    res.end(body);
  }

  const notFound = (res: ServerResponse, code: string, message: string, head: boolean) =>
    send(res, 404, head ? "" : errorXml(code, message));

  async function readBody(req: IncomingMessage, keepLimit: number): Promise<BodyReader> {
    const chunked =
      (req.headers["content-encoding"] ?? "").includes("aws-chunked") ||
      String(req.headers["x-amz-content-sha256"] ?? "").startsWith("STREAMING-");
    const reader = new BodyReader(chunked, keepLimit);
    for await (const chunk of req) reader.write(chunk as Buffer);
    bytesReceived += reader.size;
    return reader;
  }

  /** The ETag of a body: the client's Content-MD5 on trust, else the kept bytes' MD5, else `identity`'s. */
  function etagOf(req: IncomingMessage, body: BodyReader, identity: string): string {
    const contentMd5 = req.headers["content-md5"];
    if (typeof contentMd5 === "string") return Buffer.from(contentMd5, "base64").toString("hex");
    const payload = body.payload();
    return payload === undefined ? md5Hex(identity) : md5Hex(payload);
  }

  function store(
    res: ServerResponse,
    bucket: string,
    key: string,
    object: Omit<StoredObject, "key" | "lastModified">,
    ifNoneMatch: boolean,
  ): boolean {
    const objects = bucketOf(bucket);
    if (ifNoneMatch && objects.has(key)) {
      send(
        res,
        412,
        errorXml("PreconditionFailed", "At least one of the preconditions you specified did not hold"),
      );
      return false;
    }
    objects.set(key, { ...object, key, lastModified: new Date() });
    return true;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://discard");
    const slash = url.pathname.indexOf("/", 1);
    const bucket = decodeURIComponent(slash < 0 ? url.pathname.slice(1) : url.pathname.slice(1, slash));
    const key = slash < 0 ? "" : decodeURIComponent(url.pathname.slice(slash + 1));
    const query = url.searchParams;
    const method = req.method ?? "GET";
    const head = method === "HEAD";
    const operation = operationOf(method, key, query);
    requests[operation] = (requests[operation] ?? 0) + 1;
    const uploadId = query.get("uploadId") ?? "";
    const ifNoneMatch = req.headers["if-none-match"] === "*";

    switch (operation) {
      case "CreateBucket":
        bucketOf(bucket);
        return send(res, 200, "", { location: `/${bucket}` });
      case "HeadBucket":
      case "PutObjectTagging":
        await readBody(req, 0);
        return send(res, 200);
      case "GetBucketLocation":
        return send(
          res,
          200,
          '<?xml version="1.0" encoding="UTF-8"?><LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>',
        );
      case "ListObjects":
      case "ListObjectsV2": {
        const v2 = operation === "ListObjectsV2";
        const token = query.get("continuation-token");
        const after = v2
          ? token
            ? Buffer.from(token, "base64url").toString()
            : (query.get("start-after") ?? "")
          : (query.get("marker") ?? "");
        const maxKeys = Math.min(1000, Number(query.get("max-keys") ?? 1000));
        const page = listPage(
          bucketOf(bucket),
          query.get("prefix") ?? "",
          query.get("delimiter") ?? "",
          after,
          maxKeys,
        );
        const encode =
          query.get("encoding-type") === "url"
            ? (k: string) => encodeURIComponent(k).replace(/%2F/g, "/")
            : escapeXml;
        return send(res, 200, listXml(bucket, query, page, v2, encode));
      }
      case "DeleteObjects": {
        const xml = (await readBody(req, XML_BODY_LIMIT)).payload()?.toString("utf8") ?? "";
        const keys = elementValues(xml, "Key");
        for (const k of keys) bucketOf(bucket).delete(k);
        return send(res, 200, deleteResultXml(keys, elementValues(xml, "Quiet")[0] === "true"));
      }
      case "CreateMultipartUpload": {
        await readBody(req, 0);
        const id = randomUUID();
        uploads.set(id, { bucket, key, headers: keptHeaders(req), parts: new Map() });
        return send(res, 200, initiateXml(bucket, key, id));
      }
      case "UploadPart": {
        const upload = uploads.get(uploadId);
        const body = await readBody(req, 0);
        if (upload === undefined) return notFound(res, "NoSuchUpload", `no upload ${uploadId}`, false);
        const partNumber = Number(query.get("partNumber"));
        const checksums = checksumsOf(req, body.trailers);
        const etag = etagOf(req, body, `${uploadId}/${partNumber}/${body.size}/${randomUUID()}`);
        upload.parts.set(partNumber, { size: body.size, etag, checksums });
        return send(res, 200, "", { etag: `"${etag}"`, ...checksums });
      }
      case "ListParts": {
        const upload = uploads.get(uploadId);
        if (upload === undefined) return notFound(res, "NoSuchUpload", `no upload ${uploadId}`, false);
        const parts = [...upload.parts.entries()]
          .sort((a, b) => a[0] - b[0])
          .map(([partNumber, p]) => ({ partNumber, ...p }));
        return send(res, 200, listPartsXml(bucket, key, uploadId, parts));
      }
      case "CompleteMultipartUpload": {
        const xml = (await readBody(req, XML_BODY_LIMIT)).payload()?.toString("utf8") ?? "";
        const upload = uploads.get(uploadId);
        if (upload === undefined) return notFound(res, "NoSuchUpload", `no upload ${uploadId}`, false);
        const numbers = elementValues(xml, "PartNumber").map(Number);
        const parts = numbers.map((n) => upload.parts.get(n));
        if (parts.some((p) => p === undefined))
          return send(res, 400, errorXml("InvalidPart", "a listed part was never uploaded"));
        const md5s = Buffer.concat(parts.map((p) => Buffer.from(p!.etag, "hex")));
        const etag = `${md5Hex(md5s)}-${parts.length}`;
        const size = parts.reduce((sum, p) => sum + p!.size, 0);
        if (!store(res, bucket, key, { size, etag, headers: upload.headers }, ifNoneMatch)) return;
        uploads.delete(uploadId);
        return send(res, 200, completeXml(bucket, key, etag));
      }
      case "AbortMultipartUpload":
        uploads.delete(uploadId);
        return send(res, 204);
      case "PutObject": {
        const body = await readBody(req, KEEP_BYTES);
        const etag = etagOf(req, body, `${bucket}/${key}/${body.size}/${randomUUID()}`);
        const object = { size: body.size, etag, headers: keptHeaders(req), body: body.payload() };
        if (!store(res, bucket, key, object, ifNoneMatch)) return;
        return send(res, 200, "", { etag: `"${etag}"`, ...checksumsOf(req, body.trailers) });
      }
      case "HeadObject":
      case "GetObject": {
        const object = buckets.get(bucket)?.get(key);
        if (object === undefined) return notFound(res, "NoSuchKey", `no object ${key}`, head);
        const headers = {
          etag: `"${object.etag}"`,
          "last-modified": object.lastModified.toUTCString(),
          ...object.headers,
        };
        if (head) {
          res.writeHead(200, { ...headers, "content-length": object.size });
          return void res.end();
        }
        if (object.body === undefined)
          return send(res, 501, errorXml("NotImplemented", `the discard server dropped the bytes of ${key}`));
        res.writeHead(200, { ...headers, "content-length": object.body.length });
        return void res.end(object.body);
      }
      case "DeleteObject":
        buckets.get(bucket)?.delete(key);
        return send(res, 204);
      default:
        await readBody(req, 0);
        return send(res, 501, errorXml("NotImplemented", `${operation} is not implemented here`));
    }
  }

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, errorXml("InternalError", (error as Error).message));
      else res.destroy();
    });
  };
  const tls = options.tls ? selfSignedCertificate() : undefined;
  const server =
    tls === undefined ? createServer(listener) : createTlsServer({ key: tls.key, cert: tls.cert }, listener);
  server.on("connection", () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const endpoint = `${tls === undefined ? "http" : "https"}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    ...(tls === undefined ? {} : { caCert: tls.certFile }),
    env: {
      ...(tls === undefined ? {} : { NODE_EXTRA_CA_CERTS: tls.certFile }),
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      AWS_REGION: "us-east-1",
    },
    credentials: CREDENTIALS,
    stats: () => ({ requests: { ...requests }, bytesReceived, connections }),
    resetStats() {
      requests = {};
      bytesReceived = 0;
      connections = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
