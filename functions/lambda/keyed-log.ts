import type { Logger } from "@aws-lambda-powertools/logger";

/** The lines of one transfer or mirror: the parent logger's, each carrying the same keys. */
export interface KeyedLog {
  info(message: string, details?: object): void;
  warn(message: string, details?: object): void;
  error(message: string, details?: object): void;
}

/**
 * Not `createChild`: a Powertools child is a new Logger whose own cold-start flag is fresh, so it
 * logs `"cold_start": true` in every invocation. Writing through the parent keeps its invocation
 * context (cold start, request id) exact, and concurrent transfers share no mutable keys. A line's own
 * details come after the keys and win, as they did over a child's persistent keys.
 */
export function withKeys(logger: Logger, keys: Record<string, unknown>): KeyedLog {
  return {
    info: (message, details = {}) => logger.info(message, keys, { ...details }),
    warn: (message, details = {}) => logger.warn(message, keys, { ...details }),
    error: (message, details = {}) => logger.error(message, keys, { ...details }),
  };
}
