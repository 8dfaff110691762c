/**
 * What downstream systems learn from the Lambda, one event per finished transfer and per mirror run
 * (EventBridge in AWS; the README gives each detail type's fields).
 */
export type TransferEventType = "Object Ingested" | "Transfer Failed" | "Mirror Completed";

export interface TransferEvent {
  detailType: TransferEventType;
  detail: Record<string, unknown>;
}

/** Puts one event; rejects when the bus refused it. */
export type TransferEvents = (event: TransferEvent) => Promise<void>;
