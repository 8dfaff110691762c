/**
 * npm run invoke -- events/<file>.json: runs the real handler with that event against local servers
 * (see local-lambda.ts) and prints the log lines and the response. An API call queued with
 * "async": true is then taken from the queue and run through the SQS trigger, as Lambda would.
 */
import { readFile, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startLocalLambda } from "./local-lambda.js";

const file = process.argv[2];
if (file === undefined) {
  process.stderr.write("usage: npm run invoke -- events/<file>.json\n");
  process.exit(2);
}
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
const repo = resolve(fileURLToPath(new URL("..", import.meta.url)));
const event: unknown = JSON.parse(await readFile(resolve(file), "utf8"));
// Each run starts from an empty bucket, so an event gives the same answer every time.
await rm(join(repo, "demo-data", "invoke"), { recursive: true, force: true });
const local = await startLocalLambda(join(repo, "demo-data", "invoke"));
let exitCode = 0;
try {
  const show = (what: string, value: unknown) =>
    process.stdout.write(`\n${what}:\n${JSON.stringify(value, null, 2)}\n`);
  try {
    show("response", await local.invoke(event));
  } catch (error) {
    show("the invocation failed", { name: (error as Error).name, message: (error as Error).message });
    exitCode = 1;
  }
  const queued = await local.takeQueued();
  if (queued !== undefined) {
    process.stdout.write(
      `\n${queued.Records.length} message(s) on the ingestion queue: running the SQS trigger\n`,
    );
    show("response", await local.invoke(queued));
  }
  process.stdout.write(`\nObjects are in ${join("demo-data", "invoke", "s3")}/\n`);
} finally {
  await local.close();
}
process.exitCode = exitCode;
