/**
 * The ranged fan-out through the real handler against Debian's servers: leg 0 (an SQS message) plans
 * and queues four ranges, four invocations read them at once (REST + RETR, cut after each range's
 * last byte), the last one done commits. vsftpd and proftpd answer a cut read with 426 and the last
 * range with 226 (see ranges.test.ts). S3 is s3rver (it lists parts), SQS fauxqs, the ledger dynalite.
 */

import { rm } from "node:fs/promises";
import path from "node:path";
import { GetSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import type { SQSRecord } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bucket,
  callApi,
  type LambdaRig,
  secretArn,
  sqsEvent,
  sqsRecord,
  startLambdaRig,
} from "../support/lambda-rig.js";
import { randomFile, readObject, sha256 } from "../support/objects.js";
import {
  INTEROP_PASSWORD,
  INTEROP_USER,
  reachableTempDir,
  skipInterop,
  writeServedFile,
} from "./fixtures.js";
import { type InteropServer, startInteropServer } from "./servers.js";

const MiB = 1024 * 1024;
const size = 4 * 5 * MiB + 4321; // five parts of 5 MiB (the last short): ranges of 2, 1, 1 and 1 parts
const data = randomFile(size);

for (const kind of ["vsftpd", "proftpd"] as const) {
  describe.skipIf(skipInterop(kind))(`a big file fanned out over four invocations, from ${kind}`, () => {
    let work: string;
    let server: InteropServer;
    let rig: LambdaRig;

    beforeAll(async () => {
      work = await reachableTempDir(`ftp2s3-interop-handler-ranges-${kind}-`);
      await writeServedFile(path.join(work, "root"), "big.bin", data);
      server = await startInteropServer(kind, {
        root: path.join(work, "root"),
        user: INTEROP_USER,
        password: INTEROP_PASSWORD,
      });
      rig = await startLambdaRig({
        s3: "s3rver",
        connections: {
          interop: {
            host: "127.0.0.1",
            port: server.port,
            user: INTEROP_USER,
            secure: false,
            passwordSecretArn: secretArn,
            roots: ["/"],
            timeoutSeconds: 10,
            allowPrivateAddresses: true,
            rangeFanout: { minMiB: 5, ranges: 4, maxSessions: 4 },
          },
        },
      });
      // The rig's one secret holds its own ftp-srv's password; this connection logs in to the server's account.
      rig.secrets
        .on(GetSecretValueCommand, { SecretId: secretArn })
        .resolves({ SecretString: INTEROP_PASSWORD });
    });
    afterAll(async () => {
      await rig?.close();
      await server?.stop();
      await rm(work, { recursive: true, force: true });
    });

    it("copies it byte-exact in four ranges read at once, with one Complete and one Object Ingested", async () => {
      // Arrange
      const leg0 = await rig.invoke(
        sqsEvent(sqsRecord(JSON.stringify({ connection: "interop", path: "/big.bin" }), `t-${kind}`)),
      );
      const ranges = await rig.receive();

      // Act
      const answers = await Promise.all(ranges.map((message: SQSRecord) => rig.invoke(sqsEvent(message))));

      // Assert
      expect(leg0).toEqual({ batchItemFailures: [] });
      expect(ranges.map((m) => JSON.parse(m.body).range)).toEqual([0, 1, 2, 3]);
      expect(answers).toEqual(ranges.map(() => ({ batchItemFailures: [] })));
      const key = "landing/interop/big.bin";
      expect(sha256(await readObject(rig.s3, bucket, key))).toBe(sha256(data));
      expect(rig.recorder.requests.filter((r) => r.operation === "CompleteMultipartUpload")).toHaveLength(1);
      expect(rig.rangedReads).toBe(4);
      expect(rig.events.map((e) => e.detailType)).toEqual(["Object Ingested"]);
      const status = await callApi(rig, "GET", `/transfers/t-${kind}`);
      expect(status.body).toMatchObject({ state: "committed", bytes: size, totalBytes: size });
      expect((status.body.ranges as { state: string }[]).map((r) => r.state)).toEqual([
        "done",
        "done",
        "done",
        "done",
      ]);
    });
  });
}
