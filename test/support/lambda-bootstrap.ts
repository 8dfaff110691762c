/**
 * The node command line the managed Node.js runtime starts its runtime client with: what
 * /var/runtime/bootstrap of nodejs20.x and later passes before the client's entry point. Published
 * copies of it (the nodejs20.x bootstrap, 2023; the nodejs24.x one, 2026; see README "The runtime's
 * memory flags") agree: `--expose-gc --max-http-header-size 81920`, then a new space of a tenth of
 * AWS_LAMBDA_FUNCTION_MEMORY_SIZE split into `--max-semi-space-size` and the rest as
 * `--max-old-space-size`, UNLESS NODE_OPTIONS names either flag (with `-` or `_`): then neither is
 * passed and V8 sizes the other from the machine's memory. Command-line flags win over NODE_OPTIONS,
 * so which case applies decides what the function's own flags do.
 *
 * Only the case the function is in (NODE_OPTIONS sets the semi-space) is exact here; the split in
 * the other case follows the older (nodejs18.x) bootstrap, half the new space each.
 */
export function lambdaBootstrapArgs(env: Record<string, string | undefined>): string[] {
  const base = ["--expose-gc", "--max-http-header-size", "81920"];
  const memoryMiB = Number(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE);
  if (!Number.isInteger(memoryMiB)) return base;
  if (/--max[-_](semi|old)[-_]space[-_]size/.test(env.NODE_OPTIONS ?? "")) return base;
  const newSpace = Math.floor(memoryMiB / 10);
  return [
    ...base,
    `--max-semi-space-size=${Math.floor(newSpace / 2)}`,
    `--max-old-space-size=${memoryMiB - newSpace}`,
  ];
}
