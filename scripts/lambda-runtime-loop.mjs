#!/usr/bin/env node
// A minimal Lambda runtime interface client: what aws-lambda-ric does for a Node.js handler, in
// plain Node, for the deployed-bundle test (test/integration/deployed-bundle.test.ts). It reads the
// same variables Lambda sets (AWS_LAMBDA_RUNTIME_API, LAMBDA_TASK_ROOT, _HANDLER), loads the handler
// from the task root as the runtime does (`index.handler` → `index.mjs`, export `handler`), and
// speaks the Runtime API: GET …/invocation/next, POST …/{id}/response or …/{id}/error, and
// POST …/init/error when the module cannot be loaded. Error bodies carry errorType = error.name,
// as the runtime reports them to callers, failure destinations and logs.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const api = `http://${required("AWS_LAMBDA_RUNTIME_API")}/2018-06-01/runtime`;
const taskRoot = required("LAMBDA_TASK_ROOT");
const [moduleName, exportName] = splitHandler(required("_HANDLER"));

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`lambda-runtime-loop: ${name} is not set`);
    process.exit(2);
  }
  return value;
}

function splitHandler(spec) {
  const dot = spec.lastIndexOf(".");
  if (dot <= 0) throw new Error(`_HANDLER ${JSON.stringify(spec)} is not "module.export"`);
  return [spec.slice(0, dot), spec.slice(dot + 1)];
}

function errorBody(error) {
  const e = error instanceof Error ? error : new Error(String(error));
  return JSON.stringify({
    errorType: e.name,
    errorMessage: e.message,
    trace: (e.stack ?? "").split("\n"),
  });
}

async function post(path, body, errorType) {
  const response = await fetch(`${api}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(errorType === undefined ? {} : { "lambda-runtime-function-error-type": errorType }),
    },
    body,
  });
  await response.arrayBuffer();
}

async function loadHandler() {
  const file = [".mjs", ".js", ".cjs"].map((ext) => join(taskRoot, moduleName + ext)).find(existsSync);
  if (file === undefined) throw new Error(`Cannot find module '${moduleName}' in ${taskRoot}`);
  const module = await import(pathToFileURL(file).href);
  const handler = module[exportName];
  if (typeof handler !== "function") {
    throw new Error(
      `${moduleName}.${exportName} is not a function (the module exports ${Object.keys(module)})`,
    );
  }
  return handler;
}

let handler;
try {
  handler = await loadHandler();
} catch (error) {
  console.error(error);
  await post("/init/error", errorBody(error), "Runtime.ImportModuleError");
  process.exit(1);
}

for (;;) {
  const next = await fetch(`${api}/invocation/next`);
  const requestId = next.headers.get("lambda-runtime-aws-request-id");
  const deadlineMs = Number(next.headers.get("lambda-runtime-deadline-ms"));
  const event = await next.json();
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: next.headers.get("lambda-runtime-invoked-function-arn"),
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: requestId,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    getRemainingTimeInMillis: () => Math.max(0, deadlineMs - Date.now()),
  };
  try {
    const result = await handler(event, context);
    await post(`/invocation/${requestId}/response`, JSON.stringify(result ?? null));
  } catch (error) {
    console.error(error);
    await post(`/invocation/${requestId}/error`, errorBody(error), error?.name ?? "Error");
  }
}
