import { S3Error } from "../core/index.js";

/** The HTTP status an SDK error carries, when S3 (or the connection) gave one. */
export function httpStatus(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

/** An SDK error as one of ours: what we were doing, S3's name and message, and the status. */
export function s3Error(what: string, error: unknown): S3Error {
  const status = httpStatus(error);
  const name = error instanceof Error ? error.name : "Error";
  const message = error instanceof Error ? error.message : String(error);
  const detail = message && message !== name && message !== "UnknownError" ? `${name}: ${message}` : name;
  return new S3Error(`${what}: ${detail}${status === undefined ? "" : ` (HTTP ${status})`}`, status, {
    cause: error,
  });
}
