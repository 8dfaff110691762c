import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy from "@middy/core";
import type { APIGatewayProxyEventV2, Context, SQSEvent } from "aws-lambda";
import { transferSettingsOf } from "../contracts/index.js";
import { inSeconds, msOfSeconds, TransferTimeoutError } from "../core/index.js";
import { handleApi } from "./api.js";
import { triggerOf } from "./event-kind.js";
import { handleQueue } from "./queue.js";
import { handleSchedule } from "./schedule.js";
import { type HandlerDeps, Transfers } from "./transfers.js";

/** Lambda's longest invocation: the time left where the context does not say. */
const LAMBDA_MAX_MS = msOfSeconds(15 * 60);

/**
 * The one Lambda entry: recognises the event, hands it to its trigger, and wraps everything in the
 * middleware every invocation needs (logger context, EMF metrics, the deadline as an AbortSignal).
 */
export function createHandler(deps: HandlerDeps) {
  const transfers = new Transfers(deps);
  const { deadlineMarginMs: marginMs, suspendLeadMs } = transferSettingsOf(deps.config);

  async function dispatch(event: unknown, context: Context, { signal }: { signal: AbortSignal }) {
    const { signal: deadline, release } = deadlineSignal(signal, marginMs);
    const remainingMs = context.getRemainingTimeInMillis?.() ?? LAMBDA_MAX_MS;
    const deadlineAt = Date.now() + remainingMs;
    // Never before half the time: a short invocation still copies something before it hands over.
    const workMs = remainingMs - marginMs;
    const suspend = suspendTimer(Math.max(workMs - suspendLeadMs, workMs / 2));
    try {
      return await route(event, deadline, suspend.signal, deadlineAt);
    } finally {
      suspend.clear();
      release(); // middy may hand the same signal to the next invocation: leave no listener on it
    }
  }

  async function route(event: unknown, deadline: AbortSignal, suspend: AbortSignal, deadlineAt: number) {
    const trigger = triggerOf(event);
    deps.metrics.addDimension("trigger", trigger);
    switch (trigger) {
      case "api":
        return handleApi(event as APIGatewayProxyEventV2, transfers, deps, deadline, suspend);
      case "queue":
        return handleQueue(event as SQSEvent, transfers, deps, deadline, suspend);
      case "schedule":
        return handleSchedule(event as Record<string, unknown>, transfers, deadline, deadlineAt);
    }
  }

  return middy(dispatch, {
    timeoutEarlyInMillis: marginMs,
    // middy answers with this as soon as the margin is reached, racing the handler. The handler is
    // told through its signal at the same moment and needs a few seconds to abort the upload and
    // close the FTP session, then answers itself (a 504, a batch failure, a failed mirror). So this
    // only answers if the handler has not done so well before the hard deadline.
    timeoutEarlyResponse: () =>
      new Promise((_, reject) =>
        setTimeout(
          () =>
            reject(new TransferTimeoutError("the handler did not finish cleaning up before the deadline")),
          Math.max(marginMs - 2000, 500),
        ).unref(),
      ),
  })
    .use(injectLambdaContext(deps.logger, { clearState: true }))
    .use(logMetrics(deps.metrics, { captureColdStartMetric: true }));
}

/**
 * Fires `afterMs` from now: copies stop at a part boundary and go on in a new invocation, early
 * enough that their parts in flight finish before the deadline margin. `clear` stops the timer when
 * the invocation ends, so it never outlives it in a warm container.
 */
function suspendTimer(afterMs: number): { signal: AbortSignal; clear: () => void } {
  const suspend = new AbortController();
  const timer = setTimeout(() => suspend.abort(), Math.max(0, afterMs));
  return { signal: suspend.signal, clear: () => clearTimeout(timer) };
}

/** middy's abort (no reason) as our timeout error, so every layer reports "TIMEOUT". */
function deadlineSignal(signal: AbortSignal, marginMs: number): { signal: AbortSignal; release: () => void } {
  const deadline = new AbortController();
  const stop = () =>
    deadline.abort(
      new TransferTimeoutError(
        `stopped ${Math.round(inSeconds(marginMs))} s before the Lambda deadline; the upload was aborted`,
      ),
    );
  if (signal.aborted) stop();
  else signal.addEventListener("abort", stop, { once: true });
  return { signal: deadline.signal, release: () => signal.removeEventListener("abort", stop) };
}
