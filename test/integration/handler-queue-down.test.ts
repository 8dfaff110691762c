import { DeleteQueueCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LambdaRig, startLambdaRig, urlRequest } from "../support/lambda-rig.js";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

// The ingestion queue gone (deleted on fauxqs): an async request is accepted by the API, but its
// message cannot be sent. The ledger is dynalite, as in the other handler tests.
describe("an async request whose message cannot be queued", () => {
  let rig: LambdaRig;

  beforeAll(async () => {
    rig = await startLambdaRig();
    await rig.sqs.send(new DeleteQueueCommand({ QueueUrl: rig.queueUrl }));
  });
  afterAll(async () => {
    await rig.close();
  });

  const post = async (headers: Record<string, string>) => {
    const event = urlRequest("POST", "/transfers", {
      connection: "partner",
      path: "/outbox/a.bin",
      async: true,
    });
    const response = (await rig.invoke({ ...event, headers: { ...event.headers, ...headers } })) as {
      statusCode: number;
      headers: Record<string, string>;
      body: string;
    };
    return { ...response, body: JSON.parse(response.body) as Record<string, unknown> };
  };

  it("fails the call, and a repeat with its Idempotency-Key answers that failure, not 202 queued", async () => {
    // Arrange
    await rig.serve("/outbox/a.bin", Buffer.from("never copied"));
    const headers = { "idempotency-key": "queue-down-1" };

    // Act
    const first = await post(headers);
    const repeat = await post(headers);

    // Assert
    expect(first.statusCode).toBe(500);
    expect(first.body.error).toMatchObject({ code: "INTERNAL" });
    expect(repeat.statusCode).toBe(500);
    expect(repeat.headers["idempotent-replayed"]).toBe("true");
    expect(repeat.body).toMatchObject({
      state: "failed",
      error: {
        code: "INTERNAL",
        message:
          "the copy could not be queued, so nothing was copied; send the request again (with a new Idempotency-Key)",
      },
    });
    const status = await rig.invoke(urlRequest("GET", `/transfers/${String(repeat.body.id)}`));
    expect(JSON.parse((status as { body: string }).body)).toMatchObject({ state: "failed" });
  });
});
