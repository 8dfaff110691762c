import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { parseInput, type TransferRequest, transferRequestSchema } from "../contracts/index.js";
import {
  type CopyOutcome,
  type ErrorCode,
  InvalidInputError,
  type SourceActionReport,
} from "../core/index.js";
import { type FailureCode, failureFields } from "./failure-fields.js";
import { errorBody, json, jsonHeaders, type Response } from "./http-response.js";
import { idempotentReplay } from "./idempotency.js";
import { recentTransfers, transferStatus } from "./transfer-status.js";
import type { HandlerDeps, Transfers } from "./transfers.js";

/**
 * The Function URL. POST /transfers: copy now (200) or queue the copy (202); a copy that cannot
 * finish within the invocation goes on from the queue, and the answer is a 202 "continuing". With
 * an Idempotency-Key, a repeat answers with the transfer the key started. GET /transfers/{id} and
 * GET /transfers?connection=… read the ledger.
 */
export async function handleApi(
  event: APIGatewayProxyEventV2,
  transfers: Transfers,
  deps: Pick<HandlerDeps, "queue" | "logger" | "ledger" | "config">,
  signal: AbortSignal,
  suspendSignal?: AbortSignal,
): Promise<Response> {
  const route = routeOf(event);
  if (typeof route !== "string") return route;
  try {
    if (route === "status") return await transferStatus(transferIdIn(event), deps.ledger);
    if (route === "list") return await recentTransfers(event, deps.ledger, deps.config);
    const request = callerRequest(event, transfers);
    transfers.resolve(request); // a request outside the fence takes no idempotency key
    const replay = await idempotentReplay(
      event,
      request,
      deps.ledger,
      transfers.ledgerSettings.idempotencyWindowMs,
      (code, ftpCode) => httpStatusOf(code as FailureCode, ftpCode) ?? 500,
    );
    if (replay !== undefined) return replay;
    if (request.async) return await queueCopy(request, transfers, deps);
    const ifExists = request.overwrite ? "replace" : "fail";
    const outcome = await transfers.copy(request, "api", ifExists, signal, suspendSignal);
    // The id was made for this request a moment ago: no other leg can hold it.
    if (outcome === undefined) throw new Error(`transfer ${request.transferId} was claimed by another leg`);
    return copied(request.transferId, outcome);
  } catch (error) {
    const fields = failureFields(error);
    const status = httpStatusOf(fields.code, fields.ftpCode);
    if (status === 500) deps.logger.error("unexpected error", { error: error as Error });
    const response = json(status, {
      error: status === 500 ? { code: "INTERNAL", message: "internal error" } : fields,
    });
    if (fields.code !== "FTP_BUSY") return response;
    return { ...response, headers: { ...jsonHeaders, "retry-after": String(BUSY_RETRY_AFTER_SECONDS) } };
  }
}

const TRANSFER_PATH = /^\/transfers\/(.+)$/;

/** Which of the API's routes the request takes, or its 404 or 405. */
function routeOf(event: APIGatewayProxyEventV2): "create" | "list" | "status" | Response {
  const method = event.requestContext.http.method;
  const path = event.rawPath.replace(/\/+$/, "");
  const allowed = path === "/transfers" ? ["GET", "POST"] : TRANSFER_PATH.test(path) ? ["GET"] : undefined;
  if (allowed === undefined) {
    return errorBody(
      404,
      "NOT_FOUND",
      `no route ${method} ${event.rawPath}: the API is POST /transfers, GET /transfers and GET /transfers/{id}`,
    );
  }
  if (!allowed.includes(method)) {
    const allow = allowed.join(", ");
    return {
      ...errorBody(405, "METHOD_NOT_ALLOWED", `${method} is not allowed on ${path}: use ${allow}`),
      headers: { ...jsonHeaders, allow },
    };
  }
  if (path !== "/transfers") return "status";
  return method === "GET" ? "list" : "create";
}

/** The id in GET /transfers/{id}, still percent-encoded (a mirror's ids hold "/"). */
function transferIdIn(event: APIGatewayProxyEventV2): string {
  return TRANSFER_PATH.exec(event.rawPath.replace(/\/+$/, ""))?.[1] ?? "";
}

/** The caller's body as a request with its transfer id, refusing the fields only ftp2s3 sets. */
function callerRequest(
  event: APIGatewayProxyEventV2,
  transfers: Pick<Transfers, "newId">,
): TransferRequest & { transferId: string } {
  const parsed = parseInput(transferRequestSchema, parseBody(event), "request body");
  const request = { ...parsed, transferId: transfers.newId() };
  // Set by ftp2s3 on its own queue messages only, whether the call copies now or queues the copy.
  for (const field of ["continuation", "mirrored", "busy"] as const) {
    if (request[field] !== undefined) {
      throw new InvalidInputError(`"${field}" is set by ftp2s3 on its own queue messages, not by callers`);
    }
  }
  return request;
}

async function queueCopy(
  request: TransferRequest & { transferId: string },
  transfers: Transfers,
  deps: Pick<HandlerDeps, "queue" | "logger">,
): Promise<Response> {
  if (deps.queue === undefined) {
    throw new InvalidInputError('"async": true needs an ingestion queue, and none is configured');
  }
  const { async: _async, ...message } = request;
  await transfers.queued(request);
  try {
    await deps.queue(message);
  } catch (error) {
    await transfers.notQueued(request).catch((cause: unknown) => {
      deps.logger.error("a transfer that could not be queued is still recorded as queued", {
        transferId: request.transferId,
        error: cause as Error,
      });
    });
    throw error;
  }
  deps.logger.info("transfer queued", { transferId: request.transferId, connection: request.connection });
  return json(202, { id: request.transferId, status: "queued" });
}

/** The answer to a copy made now: the object (200), or where the copy goes on from the queue (202). */
function copied(id: string, outcome: CopyOutcome & { afterCopy?: SourceActionReport }): Response {
  if (outcome.status === "suspended") {
    // Too big for one invocation: it goes on from the queue, as an async request would.
    return json(202, {
      id,
      status: "continuing",
      bucket: outcome.bucket,
      key: outcome.key,
      bytesCopied: outcome.resumeAt?.offset ?? 0,
      size: outcome.source.size,
    });
  }
  if (outcome.status !== "copied") throw new Error("an API copy never skips"); // ifExists is fail or replace
  const {
    bucket,
    key,
    bytes,
    etag,
    sha256,
    crc64nvme,
    sourceDigest,
    durationMs,
    ftpReply,
    sizeCheck,
    afterCopy,
  } = outcome;
  return json(200, {
    id,
    bucket,
    key,
    bytes,
    etag,
    sha256,
    ...(crc64nvme === undefined ? {} : { crc64nvme }),
    ...(sourceDigest === undefined ? {} : { sourceDigest }),
    durationMs,
    ftpReply,
    sizeCheck,
    ...(afterCopy === undefined ? {} : { afterCopy }),
  });
}

/**
 * How each failure reads over HTTP: one entry per error code, so a new code does not compile until
 * it says what it means here. 500 is for what no caller can mend.
 */
const httpStatus: Record<ErrorCode | "INTERNAL", number> = {
  INVALID_INPUT: 400,
  NOT_ALLOWED: 403,
  OBJECT_EXISTS: 409,
  // The file's state conflicts with the copy (still being written), which the caller mends by asking
  // again later; a 503 would blame this service and invite an immediate automatic retry.
  SOURCE_CHANGED: 409,
  TOO_LARGE: 507, // our limit (memory budget, parts), not the caller's request: the operator can raise it
  TIMEOUT: 504,
  RESUME_LIMIT: 504,
  FTP_REPLY: 502,
  FTP_CONNECTION: 502,
  FTP_LOGIN: 502,
  // The server (or the connection's session budget) is full: ask again after Retry-After.
  FTP_BUSY: 503,
  FTP_DATA_CONNECTION: 502,
  FTP_NO_RESTART: 502,
  SIZE_MISMATCH: 502,
  // The server's digest or S3's check refused the bytes read: the upstream gave bad data.
  CHECKSUM_MISMATCH: 502,
  // Configuration (serverDigest "require") against a server that offers none: the caller's to mend.
  NO_SERVER_DIGEST: 422,
  S3: 502,
  // The key is the caller's; its request differs from the one the key started (as the IETF draft
  // "The Idempotency-Key HTTP Header Field" answers a reused key).
  IDEMPOTENCY_KEY_REUSED: 422,
  FTP_LISTING: 500,
  ABORTED: 500,
  MIRROR_INCOMPLETE: 500,
  DELETE_LIMIT: 500,
  EMPTY_SOURCE: 500,
  INTERNAL: 500,
};

export function httpStatusOf(code: ErrorCode | "INTERNAL", ftpCode: number | undefined): number {
  return code === "FTP_REPLY" && ftpCode === 550 ? 404 : httpStatus[code];
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

/**
 * What a caller of a copy refused with FTP_BUSY is told to wait: about as long as a small file's
 * copy holds a session, so a slot has likely come free, and short enough for an interactive caller.
 */
const BUSY_RETRY_AFTER_SECONDS = 30;
