import { z } from "zod";
import { mirrorJobSchema, parseInput } from "../contracts/index.js";
import type { MirrorSummary } from "../core/index.js";
import { DeleteLimitError, EmptySourceError, MirrorIncompleteError } from "../core/index.js";
import { scheduleInput } from "./event-kind.js";
import type { Transfers } from "./transfers.js";

const scheduleInputSchema = z.object({ mirror: mirrorJobSchema }).strict();

/**
 * A scheduled mirror. Single files failing do not stop the others; the invocation fails when any
 * did, so the schedule's retry policy and alarms see it, and the error names them.
 */
export async function handleSchedule(
  event: Record<string, unknown>,
  transfers: Transfers,
  signal: AbortSignal,
  deadlineAt: number,
): Promise<MirrorSummary> {
  const { mirror } = parseInput(scheduleInputSchema, scheduleInput(event), "schedule input");
  const summary = await transfers.mirror(mirror, signal, deadlineAt);
  const refused = summary.deleteRefused;
  if (refused !== undefined) {
    const where = `mirror of ${mirror.connection}:${summary.remoteDir}`;
    const first = refused.keys.slice(0, 5).join(", ");
    const message = `${where}: ${refused.message}; it would have deleted ${refused.wouldDelete} objects: ${first}${refused.wouldDelete > 5 ? ", ..." : ""}`;
    throw refused.reason === "DELETE_LIMIT" ? new DeleteLimitError(message) : new EmptySourceError(message);
  }
  if (summary.failed.length > 0) {
    const named = summary.failed
      .slice(0, 5)
      .map((f) => `${f.path} (${f.code})`)
      .join(", ");
    const more = summary.failed.length > 5 ? ` and ${summary.failed.length - 5} more` : "";
    throw new MirrorIncompleteError(
      `mirror of ${mirror.connection}:${summary.remoteDir}: ${summary.failed.length} of ${
        summary.copied + summary.unchanged + summary.failed.length
      } files failed: ${named}${more}`,
    );
  }
  return summary;
}
