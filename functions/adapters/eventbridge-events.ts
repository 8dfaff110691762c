import { type EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import type { TransferEvents } from "../core/index.js";

/** Puts each event on one EventBridge bus, with the source (the service's name) that rules match on. */
export function eventBridgeEvents(
  client: EventBridgeClient,
  busName: string,
  source: string,
): TransferEvents {
  return async ({ detailType, detail }) => {
    const answer = await client.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: busName,
            Source: source,
            DetailType: detailType,
            Detail: JSON.stringify(detail),
          },
        ],
      }),
    );
    // PutEvents answers 200 even when it refused the entry: the refusal is in the entry's result.
    if ((answer.FailedEntryCount ?? 0) > 0) {
      const [entry] = answer.Entries ?? [];
      throw new Error(
        `EventBridge refused the "${detailType}" event: ${entry?.ErrorCode} ${entry?.ErrorMessage}`,
      );
    }
  };
}
