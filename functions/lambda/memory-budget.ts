import { bytesOfMiB, DEFAULTS, InvalidInputError } from "../core/index.js";

/**
 * What the runtime takes before any part buffer: Node, the bundled SDK clients, Powertools and the
 * sockets. A 1 KiB copy peaks near 70 MB RSS in the bench; the Lambda's own runtime client and the
 * SQS and Secrets Manager clients come on top, hence 128 MiB.
 */
export const RUNTIME_ALLOWANCE_MIB = 128;

/**
 * The share of the rest that part buffers may fill. The other half covers what a part costs beyond
 * its buffer: socket and TLS buffers, the SDK's request while a part is sent, chunks from the FTP
 * socket the garbage collector has not yet freed.
 */
export const BUFFER_SHARE = 0.5;

/** The least budget: one 16 MiB part (a file without SIZE) and the smaller parts of sized files. */
export const MIN_LAMBDA_BUDGET_MIB = 16;

export const MEMORY_SIZE_ENV = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE";

/**
 * Bytes the part buffers of one invocation may take: the configured `transfer.memoryBudgetMiB`, else
 * a share of the function's memory (AWS_LAMBDA_FUNCTION_MEMORY_SIZE, in MiB), read once per
 * container. A value Lambda would never set fails the cold start rather than guess.
 */
export function lambdaMemoryBudget(configuredMiB: number | undefined, env: NodeJS.ProcessEnv): number {
  if (configuredMiB !== undefined) return bytesOfMiB(configuredMiB);
  const text = env[MEMORY_SIZE_ENV];
  // Where the memory size is unknown (a local run): the command's default.
  if (text === undefined || text === "") return DEFAULTS.memoryBudget;
  const memoryMiB = /^\d{1,6}$/.test(text) ? Number(text) : Number.NaN;
  if (!(memoryMiB >= 128 && memoryMiB <= 10240)) {
    throw new InvalidInputError(
      `${MEMORY_SIZE_ENV} must be the function's memory in MiB (128 to 10240), got "${text}"`,
    );
  }
  const share = Math.floor((memoryMiB - RUNTIME_ALLOWANCE_MIB) * BUFFER_SHARE);
  return bytesOfMiB(Math.max(MIN_LAMBDA_BUDGET_MIB, share));
}
