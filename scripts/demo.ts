/**
 * npm run demo: the whole pipe on one machine. Starts an FTP server (ftp-srv) and an S3-compatible
 * server (s3rver) on loopback, writes a sample file, copies it with the real `ftp2s3` command,
 * checks the stored bytes against the original and says where the object lies. Exits 0 on success.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startEmbeddedFtp } from "../test/support/embedded-ftp.js";
import { startS3rver } from "../test/support/embedded-s3.js";
import { readObject, sha256 } from "../test/support/objects.js";
import { LOCAL_BUCKET, startLocalLambda } from "./local-lambda.js";

const repo = resolve(fileURLToPath(new URL("..", import.meta.url)));
const dataDir = join(repo, "demo-data");
const bucket = "demo-bucket";
const remotePath = "/outbox/sample-64MiB.bin";
const key = "inbox/sample-64MiB.bin";

const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<number> {
  // This demo runs on Node 20, which the SDK warns about at length; the warning says nothing about the demo.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  await rm(dataDir, { recursive: true, force: true });
  const sample = randomBytes(64 * 1024 * 1024);
  const sampleDigest = sha256(sample);
  await mkdir(join(dataDir, "ftp", "outbox"), { recursive: true });
  await writeFile(join(dataDir, "ftp", remotePath), sample);

  const ftp = await startEmbeddedFtp({ root: join(dataDir, "ftp") });
  const s3 = await startS3rver(join(dataDir, "s3"));
  try {
    await s3.createBucket(bucket);
    say(`FTP server  ftp://${ftp.user}@127.0.0.1:${ftp.port}  serving ${relative(repo, ftp.root)}/`);
    say(`S3 server   ${s3.endpoint}  storing in ${relative(repo, join(dataDir, "s3"))}/`);
    const source = `ftp://${ftp.user}@127.0.0.1:${ftp.port}${remotePath}`;
    const target = `s3://${bucket}/${key}`;
    say(`\n$ FTP_PASSWORD=*** AWS_ENDPOINT_URL_S3=${s3.endpoint} ftp2s3 ${source} ${target}`);

    const { exitCode, stdout } = await runFtp2s3([source, target], { ...s3.env, FTP_PASSWORD: ftp.password });
    process.stdout.write(stdout);
    if (exitCode !== 0) {
      say(`\nftp2s3 exited with ${exitCode}: the demo failed.`);
      return 1;
    }

    const storedDigest = sha256(await readObject(s3.client(), bucket, key));
    if (storedDigest !== sampleDigest) {
      say(`\nThe stored object differs from the sample (sha256 ${storedDigest} vs ${sampleDigest}).`);
      return 1;
    }
    say(
      `\nVerified: s3://${bucket}/${key} holds the ${sample.length} bytes of the sample (sha256 ${sampleDigest}).`,
    );
    say(`The object lies in ${relative(repo, join(dataDir, "s3", bucket, `${key}._S3rver_object`))}`);
    say(`(s3rver keeps its metadata beside it; the folder stays until the next demo run).`);
    if ((await stopAndResume(source, `s3://${bucket}/resumed/`, s3.env, ftp.password)) !== 0) return 1;
    const resumed = await readObject(s3.client(), bucket, "resumed/sample-64MiB.bin");
    if (sha256(resumed) !== sampleDigest) {
      say("\nThe resumed copy differs from the sample.");
      return 1;
    }
    say(`Verified: s3://${bucket}/resumed/sample-64MiB.bin holds the sample too, copied in two legs.`);
  } finally {
    await ftp.close();
    await s3.close();
  }
  return await throughTheHandler();
}

/** The same copy stopped after a moment (as Ctrl-C with --resumable would), then resumed. */
async function stopAndResume(
  source: string,
  target: string,
  s3Env: Record<string, string>,
  password: string,
): Promise<number> {
  const env = {
    ...s3Env,
    FTP_PASSWORD: password,
    FTP2S3_STATE_DIR: join(dataDir, "state"),
  };
  const options = ["--part-size", "5", "--progress", "none"];
  say(`\n$ ftp2s3 ${source} ${target} --stop-after 0.3 ${options.join(" ")}`);
  const first = await runFtp2s3([source, target, "--stop-after", "0.3", ...options], env);
  process.stdout.write(first.stdout);
  if (first.exitCode === 0) {
    say("(the copy finished before the stop: this machine is quick; nothing to resume)");
    return 0;
  }
  const uploadId = (JSON.parse(first.stdout) as { uploadId?: string }).uploadId;
  if (first.exitCode !== 75 || uploadId === undefined) return 1;
  say(`\n$ ftp2s3 ${source} ${target} --resume ${uploadId} ${options.join(" ")}`);
  const rest = await runFtp2s3([source, target, "--resume", uploadId, ...options], env);
  process.stdout.write(rest.stdout);
  return rest.exitCode;
}

/** The same pipe through the Lambda handler, as an API call on its Function URL would run it. */
async function throughTheHandler(): Promise<number> {
  say("\nNow through the Lambda handler: POST /transfers with events/api-fetch.json.");
  say("These are the log lines CloudWatch would receive (and the EMF metrics line):\n");
  const lambda = await startLocalLambda(join(dataDir, "lambda"));
  try {
    const event = JSON.parse(await readFile(join(repo, "events", "api-fetch.json"), "utf8")) as unknown;
    const response = (await lambda.invoke(event)) as { statusCode: number; body: string };
    say(`\nresponse ${response.statusCode}: ${response.body}`);
    if (response.statusCode !== 200) return 1;
    const { key: storedKey, sha256: digest } = JSON.parse(response.body) as { key: string; sha256: string };
    const stored = await readObject(lambda.s3.client(), LOCAL_BUCKET, storedKey);
    if (sha256(stored) !== digest) {
      say("The object stored by the handler does not match the digest it reported.");
      return 1;
    }
    say(
      `Verified: s3://${LOCAL_BUCKET}/${storedKey} (in ${relative(repo, join(dataDir, "lambda", "s3"))}/).`,
    );
    say("Try the other events with: npm run invoke -- events/<file>.json");
    return 0;
  } finally {
    await lambda.close();
  }
}

/**
 * The real command in a child process, with this process's environment (so without the SDK's Node 20
 * warning, switched off in main); its progress (stderr) goes straight to this terminal.
 */
function runFtp2s3(
  args: string[],
  env: Record<string, string>,
): Promise<{ exitCode: number; stdout: string }> {
  const main = join(repo, "functions", "cli", "main.ts");
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ["--import", "tsx", main, ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let stdout = "";
    child.stdout.setEncoding("utf8").on("data", (text: string) => {
      stdout += text;
    });
    child.on("error", fail);
    child.on("close", (code) => done({ exitCode: code ?? 1, stdout }));
  });
}

process.exitCode = await main();
