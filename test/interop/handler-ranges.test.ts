/**
 * Issue 19's handler-level test against real servers: a file fanned out by leg 0 (REST STREAM in
 * FEAT, the REST probe of its last bytes) and copied in 4 ranges by 4 concurrent invocations of the
 * real handler (dynalite ledger, s3rver behind the recorder, SQS on fauxqs), byte-exact with one
 * Complete, against each of the four servers (each answers a cut read its own way: ranges.test.ts).
 */
import { rm } from "node:fs/promises";
import type { SQSRecord } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bucket, type LambdaRig, sqsEvent, sqsRecord, startLambdaRig } from "../support/lambda-rig.js";
import { randomFile, readObject, sha256 } from "../support/objects.js";
import { INTEROP_PASSWORD, INTEROP_USER, reachableTempDir, skipInterop } from "./fixtures.js";
import { type InteropServer, interopServerKinds, startInteropServer } from "./servers.js";

const MiB = 1024 * 1024;
const size = 4 * 5 * MiB + 1234;
const key = "landing/partner/outbox/big.bin";

for (const kind of interopServerKinds) {
  describe.skipIf(skipInterop(kind))(`a big file fanned out over range legs, from ${kind}`, () => {
    let work: string;
    let server: InteropServer;
    let rig: LambdaRig;

    beforeAll(async () => {
      work = await reachableTempDir("ftp2s3-interop-handler-ranges-");
      server = await startInteropServer(kind, { root: work, user: INTEROP_USER, password: INTEROP_PASSWORD });
      rig = await startLambdaRig({
        s3: "s3rver",
        partner: { rangeFanout: { minMiB: 5, ranges: 4, maxSessions: 4 } },
        ftp: { port: server.port, user: INTEROP_USER, password: INTEROP_PASSWORD, root: work },
      });
    });
    afterAll(async () => {
      await rig?.close();
      await server?.stop();
      await rm(work, { recursive: true, force: true });
    });

    it("copies it in 4 ranges by 4 concurrent invocations, byte-exact, with one Complete", async () => {
      // Arrange
      const data = randomFile(size);
      await rig.serve("outbox/big.bin", data);
      const body = JSON.stringify({ connection: "partner", path: "/outbox/big.bin" });
      expect(await rig.invoke(sqsEvent(sqsRecord(body, `t-${kind}`)))).toEqual({ batchItemFailures: [] });
      const ranges = await rig.receive();

      // Act
      const answers = await Promise.all(ranges.map((m: SQSRecord) => rig.invoke(sqsEvent(m))));

      // Assert
      expect(ranges).toHaveLength(4);
      expect(answers).toEqual(ranges.map(() => ({ batchItemFailures: [] })));
      expect(sha256(await readObject(rig.s3, bucket, key))).toBe(sha256(data));
      const completes = rig.recorder.requests.filter((r) => r.operation === "CompleteMultipartUpload");
      expect(completes).toHaveLength(1);
      expect(rig.rangedReads).toBe(4);
      // The connection's budget holds (maxSessions 4) and the legs overlapped; whether all four were
      // open at one instant depends on how fast each finished its 5 MiB (seen: 3 on a busy machine).
      expect(rig.peakSessions).toBeGreaterThan(1);
      expect(rig.peakSessions).toBeLessThanOrEqual(4);
      expect(rig.events.map((e) => e.detailType)).toEqual(["Object Ingested"]);
      expect((await rig.ledger.get(`t-${kind}`))?.state).toBe("committed");
    });
  });
}
