import { type ErrorCode, Ftp2s3Error, FtpReplyError } from "../core/index.js";

/** A failure's code: one of ours, or INTERNAL for anything else (a bug, never a caller's mistake). */
export type FailureCode = ErrorCode | "INTERNAL";

/** A failure in a log line: "message" is the log line's own key, so the error's text goes in "error". */
export function logFields(error: unknown): { code: FailureCode; error: string; ftpCode?: number } {
  const { message, ...rest } = failureFields(error);
  return { ...rest, error: message };
}

/** The fields a failure log line (and an API error body) carries: code, message, and the FTP reply code. */
export function failureFields(error: unknown): { code: FailureCode; message: string; ftpCode?: number } {
  if (error instanceof FtpReplyError)
    return { code: error.code, message: error.message, ftpCode: error.ftpCode };
  if (error instanceof Ftp2s3Error) return { code: error.code, message: error.message };
  return { code: "INTERNAL", message: error instanceof Error ? error.message : String(error) };
}
