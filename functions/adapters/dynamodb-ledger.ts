import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import type {
  ClaimAnswer,
  HeldLeg,
  IdempotencyRecord,
  LedgerRequest,
  LegClaim,
  ProgressUpdate,
  RecentPage,
  TransferLedger,
  TransferRecord,
  TransferState,
} from "../core/index.js";
import { InvalidInputError } from "../core/index.js";
import { dynamoDbRangeLedger, outcomeSet, rangesOf } from "./dynamodb-range-ledger.js";

type Item = Record<string, AttributeValue>;

/** The table's name and key layout, as the stack creates it (contracts/ledger-table.ts). */
export interface LedgerTable {
  name: string;
  partitionKey: string;
  byConnectionIndex: string;
  indexPartitionKey: string;
  indexSortKey: string;
  ttlAttribute: string;
}
const S = (value: string): AttributeValue => ({ S: value });
const N = (value: number): AttributeValue => ({ N: String(value) });
const iso = (at: number) => new Date(at).toISOString();
const epochSeconds = (at: number) => Math.ceil(at / 1000);

/**
 * Every attribute is written by placeholder (#state, #bytes): many plain words (state, connection,
 * bytes, result) are DynamoDB reserved words. The placeholders are read back from the expressions, as
 * DynamoDB also refuses a name no expression uses.
 */
function names(...expressions: string[]): Record<string, string> {
  const found = expressions.join(" ").matchAll(/#(\w+)/g);
  return Object.fromEntries([...found].map(([placeholder, name]) => [placeholder, name as string]));
}

/**
 * The ledger in one DynamoDB table (see contracts/ledger-table.ts for its keys). Every write that
 * decides who runs a transfer is conditional, so two legs racing for it cannot both win; the
 * request, result and error are kept as JSON text, read back only by this adapter.
 */
export function dynamoDbLedger(
  client: DynamoDBClient,
  table: LedgerTable,
  settings: { historyMs: number },
): TransferLedger {
  const { name: tableName, partitionKey: PK, byConnectionIndex, ttlAttribute } = table;
  const { indexPartitionKey: byKey, indexSortKey: byTime } = table;
  const transferKey = (id: string): Item => ({ [PK]: S(`T#${id}`) });
  const idempotencyKey = (key: string): Item => ({ [PK]: S(`I#${key}`) });
  const expiresAt = (at: number) => N(epochSeconds(at + settings.historyMs));

  /** A conditional write's answer, or `refused`'s when its condition did not hold. */
  async function conditional<T>(write: () => Promise<T>, refused: () => Promise<T> | T): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return refused();
      throw error;
    }
  }

  async function get(transferId: string): Promise<TransferRecord | undefined> {
    const { Item: item } = await client.send(
      new GetItemCommand({ TableName: tableName, Key: transferKey(transferId), ConsistentRead: true }),
    );
    return item === undefined ? undefined : recordOf(item, table);
  }

  /**
   * A conditional UpdateItem of a transfer's item: the item as it is after, or undefined when the
   * condition did not hold (nothing was written).
   */
  function updateTransfer(
    transferId: string,
    update: string,
    condition: string,
    values: Item,
  ): Promise<Item | undefined> {
    return conditional<Item | undefined>(
      async () => {
        const { Attributes: after = {} } = await client.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: transferKey(transferId),
            UpdateExpression: update,
            ConditionExpression: condition,
            ExpressionAttributeNames: names(update, condition),
            ExpressionAttributeValues: values,
            ReturnValues: "ALL_NEW",
          }),
        );
        return after;
      },
      () => undefined,
    );
  }

  /**
   * An update of the leg's own transfer: it applies only while this leg's claim holds, running or
   * continuing (a leg that failed to queue its continuation still records its failure).
   */
  async function whileHeld({ transferId, claimId }: HeldLeg, update: string, values: Item): Promise<boolean> {
    const condition = "#claimId = :claim AND #state IN (:running, :continuing)";
    const after = await updateTransfer(transferId, update, condition, {
      ":claim": S(claimId),
      ":running": S("running"),
      ":continuing": S("continuing"),
      ...values,
    });
    return after !== undefined;
  }

  return {
    get,
    ...dynamoDbRangeLedger({ updateTransfer, get, record: (item) => recordOf(item, table) }),

    async queued(transferId, request, at) {
      await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: {
            ...transferKey(transferId),
            ...newTransfer(table, transferId, request, at),
            state: S("queued"),
            leg: N(0),
            bytes: N(0),
            updatedAt: S(iso(at)),
            [ttlAttribute]: expiresAt(at),
          },
          ConditionExpression: `attribute_not_exists(#${PK})`,
          ExpressionAttributeNames: names(`#${PK}`),
        }),
      );
    },

    async claim(claim: LegClaim): Promise<ClaimAnswer> {
      const { transferId, leg, claimId, request, at, leaseUntil } = claim;
      const fresh = newTransfer(table, transferId, request, at);
      const update =
        "SET #state = :running, #leg = :leg, #claimId = :claim, #leaseUntil = :lease, #updatedAt = :now, " +
        "#transferId = :id, " +
        `#request = if_not_exists(#request, :request), #${byKey} = if_not_exists(#${byKey}, :connection), ` +
        `#${byTime} = if_not_exists(#${byTime}, :now), #bytes = if_not_exists(#bytes, :zero), ` +
        `#${ttlAttribute} = :expires REMOVE #error, #etaSeconds`;
      // Free: no record yet, or this very leg waits (queued, continuing), or failed and is retried,
      // or its last claim ran out (the leg that held it crashed).
      const condition =
        `attribute_not_exists(#${PK}) OR (#leg = :leg AND ` +
        "(#state IN (:queued, :continuing, :failed) OR (#state = :running AND #leaseUntil < :nowMs)))";
      const claimed = await updateTransfer(transferId, update, condition, {
        ":running": S("running"),
        ":queued": S("queued"),
        ":continuing": S("continuing"),
        ":failed": S("failed"),
        ":leg": N(leg),
        ":lease": N(leaseUntil),
        ":claim": S(claimId),
        ":now": fresh[byTime] as AttributeValue,
        ":nowMs": N(at),
        ":id": S(transferId),
        ":request": fresh.request as AttributeValue,
        ":connection": fresh[byKey] as AttributeValue,
        ":zero": N(0),
        ":expires": expiresAt(at),
      });
      if (claimed === undefined) return { claimed: false, current: await get(transferId) };
      return { claimed: true, record: recordOf(claimed, table) };
    },

    async progress(leg, update: ProgressUpdate, at) {
      await whileHeld(
        leg,
        "SET #bytes = :bytes, #totalBytes = :total, #bytesPerSecond = :rate, #etaSeconds = :eta, #updatedAt = :now",
        {
          ":bytes": N(update.bytes),
          ":total": update.totalBytes === null ? { NULL: true } : N(update.totalBytes),
          ":rate": N(update.bytesPerSecond),
          ":eta": update.etaSeconds === null ? { NULL: true } : N(update.etaSeconds),
          ":now": S(iso(at)),
        },
      );
    },

    async continuing(leg, bytes, at) {
      await whileHeld(
        leg,
        "SET #state = :continuing, #leg = :next, #bytes = :bytes, #updatedAt = :now REMOVE #leaseUntil, #etaSeconds",
        { ":continuing": S("continuing"), ":next": N(leg.leg + 1), ":bytes": N(bytes), ":now": S(iso(at)) },
      );
    },

    finished(leg, end, at) {
      const values: Item = {
        ":end": S(end.state),
        ":legNo": N(leg.leg),
        ":now": S(iso(at)),
        ":expires": expiresAt(at),
      };
      const set = `#state = :end, #leg = :legNo, #updatedAt = :now, #${ttlAttribute} = :expires, ${outcomeSet(
        values,
        end.state === "failed" || end.state === "queued" ? { error: end.error } : { result: end.result },
      )}`;
      return whileHeld(leg, `SET ${set} REMOVE #leaseUntil, #etaSeconds`, values);
    },

    async recent(connection, since, limit, after) {
      const { Items = [], LastEvaluatedKey } = await client.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: byConnectionIndex,
          KeyConditionExpression: `#${byKey} = :connection AND #${byTime} >= :since`,
          ExpressionAttributeNames: names(`#${byKey} #${byTime}`),
          ExpressionAttributeValues: { ":connection": S(connection), ":since": S(since) },
          ScanIndexForward: false,
          Limit: limit,
          ...(after === undefined ? {} : { ExclusiveStartKey: pageKeyOf(table, after, connection) }),
        }),
      );
      const page: RecentPage = { transfers: Items.map((item) => recordOf(item, table)) };
      if (LastEvaluatedKey !== undefined) page.next = tokenOf(LastEvaluatedKey);
      return page;
    },

    async remember(key, record: IdempotencyRecord, at, windowMs) {
      const holder = async () => {
        const { Item: item } = await client.send(
          new GetItemCommand({ TableName: tableName, Key: idempotencyKey(key), ConsistentRead: true }),
        );
        // Gone between the two calls (expired and removed): the caller asks again with a new request.
        if (item === undefined) throw new Error(`idempotency key ${key} vanished while it was read`);
        return { taken: false as const, holder: JSON.parse(item.record?.S ?? "{}") as IdempotencyRecord };
      };
      return conditional<{ taken: true } | { taken: false; holder: IdempotencyRecord }>(async () => {
        await client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: {
              ...idempotencyKey(key),
              record: S(JSON.stringify(record)),
              [ttlAttribute]: N(epochSeconds(at + windowMs)),
            },
            // TTL removes expired items within days, not at once: an expired key is free already.
            ConditionExpression: `attribute_not_exists(#${PK}) OR #${ttlAttribute} < :now`,
            ExpressionAttributeNames: names(`#${PK} #${ttlAttribute}`),
            ExpressionAttributeValues: { ":now": N(Math.floor(at / 1000)) },
          }),
        );
        return { taken: true };
      }, holder);
    },
  };
}

/** The attributes a transfer gets when its record is created: the index's two among them. */
function newTransfer(table: LedgerTable, transferId: string, request: LedgerRequest, at: number): Item {
  return {
    transferId: S(transferId),
    request: S(JSON.stringify(request)),
    [table.indexPartitionKey]: S(request.connection),
    [table.indexSortKey]: S(iso(at)),
  };
}

function recordOf(item: Item, table: LedgerTable): TransferRecord {
  const number = (name: string) => (item[name]?.N === undefined ? undefined : Number(item[name].N));
  const json = <T>(name: string) =>
    item[name]?.S === undefined ? undefined : (JSON.parse(item[name].S) as T);
  const record: TransferRecord = {
    transferId: item.transferId?.S ?? "",
    request: json<LedgerRequest>("request") as LedgerRequest,
    state: item.state?.S as TransferState,
    leg: number("leg") ?? 0,
    bytes: number("bytes") ?? 0,
    totalBytes: number("totalBytes") ?? null,
    createdAt: item[table.indexSortKey]?.S ?? "",
    updatedAt: item.updatedAt?.S ?? "",
  };
  const optional = {
    bytesPerSecond: number("bytesPerSecond"),
    etaSeconds: item.etaSeconds === undefined ? undefined : (number("etaSeconds") ?? null),
    leaseUntil: number("leaseUntil"),
    result: json<TransferRecord["result"]>("result"),
    error: json<TransferRecord["error"]>("error"),
    ...rangesOf(item),
  };
  for (const [name, value] of Object.entries(optional)) {
    if (value !== undefined) Object.assign(record, { [name]: value });
  }
  return record;
}

/** A page's end as an opaque token: the index key DynamoDB gave, base64url JSON. */
function tokenOf(key: Item): string {
  const plain = Object.fromEntries(Object.entries(key).map(([name, value]) => [name, value.S ?? ""]));
  return Buffer.from(JSON.stringify(plain), "utf8").toString("base64url");
}

/** A token back into the key it came from; anything else (or another connection's token) is refused. */
function pageKeyOf(table: LedgerTable, token: string, connection: string): Item {
  const refuse = () => new InvalidInputError("the next token is not one this API gave for this connection");
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw refuse();
  }
  const expected = [table.partitionKey, table.indexPartitionKey, table.indexSortKey].sort();
  if (
    typeof parsed !== "object" ||
    parsed === null ||
    JSON.stringify(Object.keys(parsed).sort()) !== JSON.stringify(expected) ||
    !Object.values(parsed).every((value) => typeof value === "string" && value.length <= 2048) ||
    (parsed as Record<string, string>)[table.indexPartitionKey] !== connection
  ) {
    throw refuse();
  }
  return Object.fromEntries(Object.entries(parsed as Record<string, string>).map(([k, v]) => [k, S(v)]));
}
