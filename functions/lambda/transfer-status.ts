import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { type Config, transferIdSchema } from "../contracts/index.js";
import type { TransferLedger, TransferRecord } from "../core/index.js";
import { InvalidInputError } from "../core/index.js";
import { errorBody, json, type Response } from "./http-response.js";

/** Transfers one page lists unless the caller asks for fewer (or more, up to MAX_PAGE). */
const DEFAULT_PAGE = 25;
const MAX_PAGE = 100;
/** How far back `GET /transfers` looks without `since`. */
const DEFAULT_SINCE_MS = 24 * 3_600_000;

/** `GET /transfers/{id}`: the transfer as the ledger holds it; 404 for an unknown or malformed id. */
export async function transferStatus(rawId: string, ledger: TransferLedger): Promise<Response> {
  const notFound = () => errorBody(404, "NOT_FOUND", "no transfer with this id");
  let id: string;
  try {
    id = decodeURIComponent(rawId);
  } catch {
    return notFound();
  }
  if (!transferIdSchema.safeParse(id).success) return notFound();
  const record = await ledger.get(id);
  return record === undefined ? notFound() : json(200, statusView(record, Date.now()));
}

/** `GET /transfers?connection=…&since=…&limit=…&next=…`: a connection's transfers, newest first. */
export async function recentTransfers(
  event: APIGatewayProxyEventV2,
  ledger: TransferLedger,
  config: Pick<Config, "connections">,
): Promise<Response> {
  const query = new URLSearchParams(event.rawQueryString ?? "");
  const connection = query.get("connection");
  if (connection === null || !Object.hasOwn(config.connections, connection)) {
    throw new InvalidInputError('"connection" must name a configured connection');
  }
  const page = await ledger.recent(
    connection,
    sinceOf(query.get("since")),
    limitOf(query.get("limit")),
    query.get("next") ?? undefined,
  );
  const now = Date.now();
  return json(200, {
    transfers: page.transfers.map((record) => statusView(record, now)),
    ...(page.next === undefined ? {} : { next: page.next }),
  });
}

/** What a caller sees of a transfer: never the lease or claim, which are the legs' business. */
export function statusView(record: TransferRecord, now: number): Record<string, unknown> {
  const { transferId, request, state, leg, totalBytes, createdAt, updatedAt, result, error } = record;
  const ranges = rangesView(record);
  // A ranged transfer's bytes so far are its ranges'; its record's own count is set when it ends.
  const bytes =
    state === "ranging" && ranges !== undefined ? ranges.reduce((sum, r) => sum + r.bytes, 0) : record.bytes;
  const { trigger, ...asked } = request;
  return {
    id: transferId,
    state,
    ...asked,
    trigger,
    legs: legsRun(record),
    // Leg numbers count from 0; a queued or continuing transfer names the leg to come.
    ...(state === "queued" || state === "continuing" ? { nextLeg: leg } : {}),
    bytes,
    totalBytes,
    percent: totalBytes ? Math.round((1000 * bytes) / totalBytes) / 10 : null,
    etaSeconds: etaOf(record, now),
    createdAt,
    updatedAt,
    ...(ranges === undefined ? {} : { ranges }),
    ...(result === undefined ? {} : { result }),
    ...(error === undefined ? {} : { error }),
  };
}

/** A fanned-out transfer's ranges: where each lies, how far it got, and why it last failed. */
function rangesView(record: TransferRecord) {
  const { plan, ranges } = record;
  if (plan === undefined || ranges === undefined) return undefined;
  return plan.ranges.map(({ start, end }, range) => {
    const { state, bytes, attempts, error } = ranges[range] ?? { state: "queued", bytes: 0, attempts: 0 };
    return { range, state, start, end, bytes, attempts, ...(error === undefined ? {} : { error }) };
  });
}

function legsRun({ state, leg }: TransferRecord): number {
  if (state === "queued") return 0;
  return state === "continuing" ? leg : leg + 1;
}

/** The last progress report's estimate, less the time since it was written; null when none holds. */
function etaOf(record: TransferRecord, now: number): number | null {
  if (record.state !== "running" || record.etaSeconds === undefined || record.etaSeconds === null)
    return null;
  const since = (now - Date.parse(record.updatedAt)) / 1000;
  return Math.max(0, Math.round(record.etaSeconds - since));
}

function sinceOf(text: string | null): string {
  if (text === null) return new Date(Date.now() - DEFAULT_SINCE_MS).toISOString();
  const at = Date.parse(text);
  if (Number.isNaN(at))
    throw new InvalidInputError(`"since" must be a date and time (ISO 8601), not "${text.slice(0, 40)}"`);
  return new Date(at).toISOString();
}

function limitOf(text: string | null): number {
  if (text === null) return DEFAULT_PAGE;
  const limit = Number(text);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw new InvalidInputError(`"limit" must be a whole number from 1 to ${MAX_PAGE}`);
  }
  return limit;
}
