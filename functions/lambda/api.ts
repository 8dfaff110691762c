import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { parseInput, transferRequestSchema } from "../contracts/index.js";
import { InvalidInputError } from "../core/index.js";
import { failureFields, type HandlerDeps, type Transfers } from "./transfers.js";

type Response = APIGatewayProxyStructuredResultV2;

/**
 * POST /transfers on the Function URL: copy now (200) or queue the copy (202). A copy that cannot
 * finish within the invocation goes on from the queue, and the answer is a 202 "continuing".
 */
export async function handleApi(
  event: APIGatewayProxyEventV2,
  transfers: Transfers,
  deps: Pick<HandlerDeps, "queue" | "logger">,
  signal: AbortSignal,
  suspendSignal?: AbortSignal,
): Promise<Response> {
  const method = event.requestContext.http.method;
  const path = event.rawPath.replace(/\/+$/, "");
  if (path !== "/transfers") {
    return errorBody(404, "NOT_FOUND", `no route ${method} ${event.rawPath}: the API is POST /transfers`);
  }
  if (method !== "POST") {
    return {
      ...errorBody(405, "METHOD_NOT_ALLOWED", `${method} is not allowed on /transfers: use POST`),
      headers: jsonAllow,
    };
  }
  try {
    const request = { ...parseInput(transferRequestSchema, parseBody(event), "request body") };
    request.transferId = transfers.newId();
    // Set by ftp2s3 on its own queue messages only, whether the call copies now or queues the copy.
    for (const field of ["continuation", "mirrored"] as const) {
      if (request[field] !== undefined) {
        throw new InvalidInputError(`"${field}" is set by ftp2s3 on its own queue messages, not by callers`);
      }
    }
    if (request.async) {
      if (deps.queue === undefined) {
        throw new InvalidInputError('"async": true needs an ingestion queue, and none is configured');
      }
      transfers.resolve(request); // refuse a request outside the fence now, not on the queue
      const { async: _async, ...message } = request;
      await deps.queue(message);
      deps.logger.info("transfer queued", { transferId: request.transferId, connection: request.connection });
      return json(202, { id: request.transferId, status: "queued" });
    }
    const outcome = await transfers.copy(
      request,
      "api",
      request.overwrite ? "replace" : "fail",
      signal,
      suspendSignal,
    );
    if (outcome.status === "suspended") {
      // Too big for one invocation: it goes on from the queue, as an async request would.
      return json(202, {
        id: request.transferId,
        status: "continuing",
        bucket: outcome.bucket,
        key: outcome.key,
        bytesCopied: outcome.resumeAt?.offset ?? 0,
        size: outcome.source.size,
      });
    }
    if (outcome.status !== "copied") throw new Error("an API copy never skips"); // ifExists is fail or replace
    const { bucket, key, bytes, etag, sha256, durationMs, ftpReply, sizeCheck } = outcome;
    return json(200, {
      id: request.transferId,
      bucket,
      key,
      bytes,
      etag,
      sha256,
      durationMs,
      ftpReply,
      sizeCheck,
    });
  } catch (error) {
    const fields = failureFields(error);
    const status = httpStatusOf(fields.code, fields.ftpCode);
    if (status === 500) deps.logger.error("unexpected error", { error: error as Error });
    return json(status, { error: status === 500 ? { code: "INTERNAL", message: "internal error" } : fields });
  }
}

/** How each failure reads over HTTP. */
export function httpStatusOf(code: string, ftpCode: number | undefined): number {
  switch (code) {
    case "INVALID_INPUT":
      return 400;
    case "NOT_ALLOWED":
      return 403;
    case "OBJECT_EXISTS":
      return 409;
    case "TOO_LARGE":
      return 507; // our limit (memory budget, parts), not the caller's request: the operator can raise it
    case "TIMEOUT":
    case "RESUME_LIMIT":
      return 504;
    case "FTP_REPLY":
      return ftpCode === 550 ? 404 : 502;
    case "FTP_CONNECTION":
    case "FTP_LOGIN":
    case "FTP_DATA_CONNECTION":
    case "FTP_NO_RESTART":
    case "SIZE_MISMATCH":
    case "S3":
      return 502;
    default:
      return 500;
  }
}

function parseBody(event: APIGatewayProxyEventV2): unknown {
  if (event.body === undefined || event.body === "") throw new InvalidInputError("the request has no body");
  const text = event.isBase64Encoded ? Buffer.from(event.body, "base64").toString("utf8") : event.body;
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidInputError("the request body is not JSON");
  }
}

const jsonHeaders = { "content-type": "application/json" };
const jsonAllow = { ...jsonHeaders, allow: "POST" };

function json(statusCode: number, body: unknown): Response {
  return { statusCode, headers: jsonHeaders, body: JSON.stringify(body) };
}

function errorBody(statusCode: number, code: string, message: string): Response {
  return json(statusCode, { error: { code, message } });
}
