import { createHash } from "node:crypto";
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { PutObjectCommand, PutObjectCommandInput, S3Client } from "@aws-sdk/client-s3";
import { SignatureV4 } from "@smithy/signature-v4";

/**
 * A small object's PutObject without the SDK's per-request machinery: the SDK spends ~2 ms of CPU on
 * each command (its middleware stack sorted and cloned per send, endpoint rules, schema serialization,
 * retry bookkeeping, user agent), the signing and the HTTPS request ~0.6 ms (bench/sdk-put-cost.ts).
 * In a mirror of small files that is a third of the CPU per file, and at a Lambda's share of a core
 * CPU is what caps a mirror.
 *
 * What it does not do itself, it learns from the SDK: the first PutObject to a bucket goes through
 * the SDK as always, and when S3 accepted it, where it was sent (scheme, host, the path before the
 * key, the signing region from its Authorization) becomes the bucket's route. So endpoint rules,
 * region redirects, access points and custom endpoints are the SDK's; a route is kept only for plain
 * SigV4 signing of service "s3" and when this module's headers for that request equal the SDK's.
 * Signing is the SDK's own signer (@smithy/signature-v4) with the client's credentials provider and
 * clock offset. Anything but a 2xx answer (or no answer) is not handled here: the sink then sends the
 * request through the SDK, whose retries, redirects and error parsing make the outcome what it
 * always was. Only inputs made of the fields below take this path (others: the SDK).
 */
const FIELD_HEADERS = {
  ContentType: "content-type",
  IfNoneMatch: "if-none-match",
  Tagging: "x-amz-tagging",
  StorageClass: "x-amz-storage-class",
  ServerSideEncryption: "x-amz-server-side-encryption",
  SSEKMSKeyId: "x-amz-server-side-encryption-aws-kms-key-id",
  BucketKeyEnabled: "x-amz-server-side-encryption-bucket-key-enabled",
  ChecksumCRC64NVME: "x-amz-checksum-crc64nvme",
} as const;
const OTHER_FIELDS = new Set(["Bucket", "Key", "Body", "ContentLength", "Metadata"]);

/** Headers the SDK adds for itself, or that signing adds: not part of what the request asks S3. */
const SDK_OWN_HEADERS = new Set([
  "authorization",
  "x-amz-date",
  "x-amz-security-token",
  "x-amz-user-agent",
  "user-agent",
  "amz-sdk-invocation-id",
  "amz-sdk-request",
  "host",
  "expect",
]);

/** A request that got no answer within this long is given up here (the SDK then sends it again). */
const ANSWER_TIMEOUT_MS = 60_000;

export interface PutRoute {
  protocol: "https:" | "http:";
  hostname: string;
  port?: number;
  /** The Host header as the SDK sent it. */
  host: string;
  /** The path up to the key: "/" (virtual-hosted) or "/bucket/" (path-style). */
  pathPrefix: string;
  signingRegion: string;
}

/** A request as the SDK's HttpRequest shows it at the end of its middleware. */
export interface SentRequest {
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
  query: Record<string, string | string[] | null>;
  headers: Record<string, string>;
}

/** The object's ETag and version id, from a PutObject's answer. */
export interface PutAnswer {
  etag?: string;
  versionId?: string;
}

/** The headers this module sends for `input`, or undefined when it has a field it does not send. */
export function directPutHeaders(input: PutObjectCommandInput): Record<string, string> | undefined {
  const body = input.Body;
  if (!(body instanceof Uint8Array) || input.ChecksumCRC64NVME === undefined) return undefined;
  // The SDK's Content-Type for a body without one, which S3 would otherwise default to as well.
  const headers: Record<string, string> = {
    "content-length": String(body.length),
    "content-type": "application/octet-stream",
  };
  for (const [field, value] of Object.entries(input)) {
    if (value === undefined || OTHER_FIELDS.has(field)) continue;
    const header = FIELD_HEADERS[field as keyof typeof FIELD_HEADERS];
    if (header === undefined) return undefined;
    headers[header] = String(value);
  }
  if (input.ContentLength !== undefined && input.ContentLength !== body.length) return undefined;
  for (const [name, value] of Object.entries(input.Metadata ?? {})) headers[`x-amz-meta-${name}`] = value;
  return headers;
}

/** A key as S3's REST path carries it: each segment percent-encoded as the SDK encodes labels. */
export function keyPath(key: string): string {
  return key
    .split("/")
    .map((segment) =>
      encodeURIComponent(segment).replace(
        /[!'()*]/g,
        (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
      ),
    )
    .join("/");
}

/**
 * The route a successful SDK PutObject of `input` took, if this module can take it too: signed with
 * plain SigV4 for service "s3", its path the key's as keyPath makes it, no query but the SDK's
 * operation id, and the request's own headers exactly those directPutHeaders makes for the input.
 */
export function learnRoute(input: PutObjectCommandInput, sent: SentRequest): PutRoute | undefined {
  const signingRegion = /^AWS4-HMAC-SHA256 Credential=[^/]*\/\d{8}\/([^/]+)\/s3\/aws4_request,/.exec(
    sent.headers.authorization ?? "",
  )?.[1];
  const ours = directPutHeaders(input);
  if (signingRegion === undefined || ours === undefined || input.Key === undefined) return undefined;
  if (sent.protocol !== "https:" && sent.protocol !== "http:") return undefined;
  const key = keyPath(input.Key);
  const pathPrefix = sent.path.slice(0, sent.path.length - key.length);
  if (!sent.path.endsWith(key) || !pathPrefix.endsWith("/")) return undefined;
  const query = Object.entries(sent.query);
  if (query.length !== 1 || sent.query["x-id"] !== "PutObject") return undefined;
  if (sent.headers["x-amz-content-sha256"] !== payloadHash(sent.protocol, input.Body as Uint8Array)) {
    return undefined;
  }
  const theirs: Record<string, string> = {};
  for (const [name, value] of Object.entries(sent.headers)) {
    const lower = name.toLowerCase();
    if (!SDK_OWN_HEADERS.has(lower) && lower !== "x-amz-content-sha256") theirs[lower] = value;
  }
  if (!sameHeaders(theirs, ours)) return undefined;
  return {
    protocol: sent.protocol,
    hostname: sent.hostname,
    ...(sent.port === undefined ? {} : { port: sent.port }),
    host: sent.headers.host ?? sent.hostname,
    pathPrefix,
    signingRegion,
  };
}

/**
 * Over HTTPS the body's CRC64NVME (a signed header S3 checks) guards it, as the SDK's requests do
 * with withUnsignedPayload; over plain HTTP the payload's SHA-256 is signed (see unsigned-payload.ts).
 */
function payloadHash(protocol: string, body: Uint8Array): string {
  return protocol === "https:" ? "UNSIGNED-PAYLOAD" : createHash("sha256").update(body).digest("hex");
}

function sameHeaders(a: Record<string, string>, b: Record<string, string>): boolean {
  const names = Object.keys(a);
  return names.length === Object.keys(b).length && names.every((name) => b[name] === a[name]);
}

/** Sends PutObjects along the routes learned from the SDK's, signed with its credentials and clock. */
export class DirectPut {
  private readonly routes = new Map<string, PutRoute>();
  private readonly signers = new Map<string, SignatureV4>();
  private readonly httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 50 });
  private readonly httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 50 });

  constructor(private readonly client: S3Client) {}

  /**
   * S3's answer when it was a 2xx; undefined when it was anything else or none came, and when the
   * bucket has no route yet or the input a field this module does not send: the SDK's turn. A 412 to
   * a conditional write is final (an object is at the key): it throws as the SDK's error would, so
   * that the sink reports OBJECT_EXISTS without asking S3 a second time.
   */
  async put(input: PutObjectCommandInput): Promise<PutAnswer | undefined> {
    const route = input.Bucket === undefined ? undefined : this.routes.get(input.Bucket);
    const headers = directPutHeaders(input);
    if (route === undefined || headers === undefined || input.Key === undefined) return undefined;
    const body = input.Body as Uint8Array;
    // A failure to sign (credentials that cannot be had) is the SDK's to report, in its words.
    const signed = await this.signer(route.signingRegion)
      .sign(
        {
          method: "PUT",
          protocol: route.protocol,
          hostname: route.hostname,
          port: route.port,
          path: route.pathPrefix + keyPath(input.Key),
          query: { "x-id": "PutObject" },
          headers: {
            ...headers,
            host: route.host,
            "x-amz-content-sha256": payloadHash(route.protocol, body),
          },
          body,
        },
        { signingDate: new Date(Date.now() + (this.client.config.systemClockOffset ?? 0)) },
      )
      .catch(() => undefined);
    if (signed === undefined) return undefined;
    const response = await this.send(route, signed.path, signed.headers, body);
    if (response === undefined || response.statusCode === undefined) return undefined;
    if (response.statusCode === 412 && input.IfNoneMatch === "*") throw preconditionFailed();
    if (response.statusCode < 200 || response.statusCode > 299) return undefined;
    return {
      etag: header(response, "etag"),
      versionId: header(response, "x-amz-version-id"),
    };
  }

  /** Learns the bucket's route from `command` (a PutObject of `input`) if S3 accepts it and none is known. */
  learnFrom(command: PutObjectCommand, input: PutObjectCommandInput): void {
    const bucket = input.Bucket;
    if (bucket === undefined || this.routes.has(bucket) || directPutHeaders(input) === undefined) return;
    // The stack's add() is typed per step; this middleware only reads the request and the response.
    const stack = command.middlewareStack as unknown as {
      add(middleware: Middleware, options: { step: "deserialize"; name: string; priority: "low" }): void;
    };
    stack.add(
      (next) => async (args) => {
        const result = await next(args);
        const status = (result.response as { statusCode?: number }).statusCode ?? 0;
        if (status >= 200 && status <= 299 && !this.routes.has(bucket)) {
          const route = learnRoute(input, args.request as SentRequest);
          if (route !== undefined) this.routes.set(bucket, route);
        }
        return result;
      },
      { step: "deserialize", name: "ftp2s3LearnPutRoute", priority: "low" },
    );
  }

  private signer(region: string): SignatureV4 {
    let signer = this.signers.get(region);
    if (signer === undefined) {
      const { credentials, sha256 } = this.client.config;
      signer = new SignatureV4({ credentials, sha256, region, service: "s3", uriEscapePath: false });
      this.signers.set(region, signer);
    }
    return signer;
  }

  /** The answer with its body read to the end, or undefined when the request failed or timed out. */
  private send(
    route: PutRoute,
    path: string,
    headers: Record<string, string>,
    body: Uint8Array,
  ): Promise<IncomingMessage | undefined> {
    const https = route.protocol === "https:";
    return new Promise((resolve) => {
      const send = https ? httpsRequest : httpRequest;
      let request: ReturnType<typeof send>;
      try {
        request = send(
          {
            method: "PUT",
            hostname: route.hostname,
            port: route.port,
            path: `${path}?x-id=PutObject`,
            headers,
            agent: https ? this.httpsAgent : this.httpAgent,
            timeout: ANSWER_TIMEOUT_MS,
          },
          (response) => {
            response.on("error", () => resolve(undefined));
            response.on("end", () => resolve(response));
            // Closed before its end (the connection dropped mid-answer): no answer. After it: settled.
            response.on("close", () => resolve(undefined));
            response.resume();
          },
        );
      } catch {
        // Node refuses a header value it cannot send (not Latin-1): the SDK's request reports it.
        resolve(undefined);
        return;
      }
      request.on("timeout", () => request.destroy(new Error("no answer")));
      request.on("error", () => resolve(undefined));
      request.end(body);
    });
  }
}

/** The error the SDK makes of S3's 412 PreconditionFailed, as far as the sink reads it. */
function preconditionFailed(): Error {
  const error = new Error("At least one of the pre-conditions you specified did not hold");
  error.name = "PreconditionFailed";
  return Object.assign(error, { $metadata: { httpStatusCode: 412 } });
}

type Middleware = (
  next: (args: { request: unknown }) => Promise<{ response: unknown }>,
) => (args: { request: unknown }) => Promise<{ response: unknown }>;

function header(response: IncomingMessage, name: string): string | undefined {
  const value = response.headers[name];
  return typeof value === "string" ? value : undefined;
}
