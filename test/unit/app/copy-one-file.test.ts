import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type CopyObserver, copyOneFile } from "../../../functions/app/copy-one-file.js";
import type { ResumeStore } from "../../../functions/app/resume-store.js";
import {
  type CopyRequest,
  partSize as checkedPartSize,
  FtpConnectionError,
  InvalidInputError,
  objectKey,
  ResumeLimitError,
  type ResumePoint,
  remoteFilePath,
  type SuspendedResult,
} from "../../../functions/core/index.js";
import { sha256 } from "../../support/bytes.js";
import { MemoryS3 } from "../../support/memory-s3.js";
import { memorySource } from "../../support/memory-source.js";

const MiB = 2 ** 20;
const partSize = checkedPartSize(5 * MiB);
const target = { bucket: "b", key: objectKey("k.bin") };
const request: CopyRequest = { path: remoteFilePath("/in/k.bin"), target, ifExists: "fail" };

/** A store that records what it was asked, and refuses to save when told to. */
function recordingStore(options: { refuse?: Error; keeps?: boolean; canSave?: boolean } = {}) {
  const saved: SuspendedResult[] = [];
  const forgotten: ResumePoint[] = [];
  const store: ResumeStore<string> = {
    keepsPointWhenUnreachable: options.keeps ?? false,
    canSave: async () => options.canSave ?? true,
    async save(outcome) {
      if (options.refuse) throw options.refuse;
      saved.push(outcome);
      return `saved ${outcome.resumeAt?.offset}`;
    },
    async forget(point) {
      forgotten.push(point);
    },
  };
  return { store, saved, forgotten };
}

/** An observer that suspends the copy once `after` bytes are in, and keeps the warnings. */
function suspendingObserver(after: number) {
  const suspend = new AbortController();
  const warnings: string[] = [];
  const observer: CopyObserver = {
    onProgress: (snapshot) => {
      if (snapshot.bytes >= after) suspend.abort();
    },
    onWarning: (message) => warnings.push(message),
  };
  return { suspendSignal: suspend.signal, observer, warnings };
}

/** A first leg of a three-part file, suspended after a part and a half: its point and S3. */
async function firstLeg(data: Buffer, s3: MemoryS3) {
  const { store, saved } = recordingStore();
  const { suspendSignal, observer } = suspendingObserver(1.5 * partSize);
  const { outcome } = await copyOneFile(
    { request, copy: { partSize, progressIntervalMs: 0 }, suspendSignal },
    { openSource: async () => memorySource({ "/in/k.bin": data }), sink: s3, store, observer },
  );
  if (outcome.status !== "suspended" || outcome.resumeAt === null)
    throw new Error("the first leg did not stop");
  expect(saved).toHaveLength(1);
  return outcome.resumeAt;
}

describe("copyOneFile", () => {
  it("commits the file, closes the session and leaves the store alone", async () => {
    // Arrange
    const data = randomBytes(12_345);
    const source = memorySource({ "/in/k.bin": data });
    const s3 = new MemoryS3();
    const { store, saved, forgotten } = recordingStore();

    // Act
    const leg = await copyOneFile(
      { request, copy: {} },
      { openSource: async () => source, sink: s3, store, observer: { onWarning: () => {} } },
    );

    // Assert
    expect(leg).toEqual({ outcome: expect.objectContaining({ status: "copied", sha256: sha256(data) }) });
    expect(s3.objects.get("k.bin")?.bytes).toEqual(data);
    expect(source.closed).toBe(1);
    expect([saved, forgotten]).toEqual([[], []]);
  });

  it("saves a suspended leg's point and hands back the store's receipt, the upload left open", async () => {
    // Arrange
    const data = randomBytes(3 * partSize);
    const s3 = new MemoryS3();
    const { store, saved } = recordingStore();
    const { suspendSignal, observer } = suspendingObserver(1.5 * partSize);

    // Act
    const leg = await copyOneFile(
      { request, copy: { partSize, progressIntervalMs: 0 }, suspendSignal },
      { openSource: async () => memorySource({ "/in/k.bin": data }), sink: s3, store, observer },
    );

    // Assert
    expect(leg.outcome.status).toBe("suspended");
    expect(saved).toEqual([leg.outcome]);
    expect(leg.receipt).toBe(`saved ${saved[0]?.resumeAt?.offset}`);
    expect(s3.openUploads()).toHaveLength(1);
    expect(s3.objects.size).toBe(0);
  });

  it("abandons the upload when the store refuses to save, and fails with the store's error", async () => {
    // Arrange
    const data = randomBytes(3 * partSize);
    const s3 = new MemoryS3();
    const refusal = new ResumeLimitError("too many continuations");
    const { store } = recordingStore({ refuse: refusal });
    const { suspendSignal, observer } = suspendingObserver(1.5 * partSize);

    // Act
    const leg = copyOneFile(
      { request, copy: { partSize, progressIntervalMs: 0 }, suspendSignal },
      { openSource: async () => memorySource({ "/in/k.bin": data }), sink: s3, store, observer },
    );

    // Assert
    await expect(leg).rejects.toBe(refusal);
    expect(s3.openUploads()).toEqual([]);
    expect(s3.sent("AbortMultipartUpload")).toHaveLength(1);
  });

  it.each([
    ["no store", undefined],
    ["a store that cannot save", recordingStore({ canSave: false }).store],
  ])("does not stop with %s: the suspend signal is ignored", async (_name, store) => {
    // Arrange
    const data = randomBytes(2 * partSize);
    const s3 = new MemoryS3();
    const suspended = new AbortController();
    suspended.abort();

    // Act
    const { outcome } = await copyOneFile(
      { request, copy: { partSize }, suspendSignal: suspended.signal },
      {
        openSource: async () => memorySource({ "/in/k.bin": data }),
        sink: s3,
        ...(store === undefined ? {} : { store }),
        observer: { onWarning: () => {} },
      },
    );

    // Assert
    expect(outcome.status).toBe("copied");
    expect(sha256(s3.objects.get("k.bin")?.bytes ?? Buffer.alloc(0))).toBe(sha256(data));
  });

  it("goes on from a saved point to the end, and then forgets it", async () => {
    // Arrange
    const data = randomBytes(3 * partSize);
    const s3 = new MemoryS3();
    const resumeFrom = await firstLeg(data, s3);
    const { store, forgotten } = recordingStore();

    // Act
    const { outcome } = await copyOneFile(
      { request: { ...request, resumeFrom }, copy: { partSize } },
      {
        openSource: async () => memorySource({ "/in/k.bin": data }),
        sink: s3,
        store,
        observer: { onWarning: () => {} },
      },
    );

    // Assert
    expect(outcome).toMatchObject({ status: "copied", resumedFrom: resumeFrom.offset, sha256: sha256(data) });
    expect(forgotten).toEqual([resumeFrom]);
  });

  it.each([
    [false, "abandons the upload (none is left open)", 0],
    [true, "keeps the upload and the point for another try", 1],
  ])(
    "a resumed leg that cannot connect, with keepsPointWhenUnreachable %s, %s",
    async (keeps, _what, open) => {
      // Arrange
      const data = randomBytes(3 * partSize);
      const s3 = new MemoryS3();
      const resumeFrom = await firstLeg(data, s3);
      const { store, forgotten } = recordingStore({ keeps });
      const refused = new FtpConnectionError("connection refused");

      // Act
      const leg = copyOneFile(
        { request: { ...request, resumeFrom }, copy: { partSize } },
        {
          openSource: async () => Promise.reject(refused),
          sink: s3,
          store,
          observer: { onWarning: () => {} },
        },
      );

      // Assert
      await expect(leg).rejects.toBe(refused);
      expect(s3.openUploads()).toHaveLength(open);
      expect(forgotten).toEqual([]);
    },
  );

  it("asks for SIZE and MDTM before a leg that may stop, and copies nothing when the check refuses", async () => {
    // Arrange
    const source = memorySource({ "/in/k.bin": randomBytes(100) }, () => ({ size: 100, modifiedAt: null }));
    const s3 = new MemoryS3();
    const refusal = new InvalidInputError("no MDTM");

    // Act
    const leg = copyOneFile(
      {
        request,
        copy: {},
        suspendSignal: new AbortController().signal,
        checkResumable: (known) => {
          if (known.modifiedAt === null) throw refusal;
        },
      },
      {
        openSource: async () => source,
        sink: s3,
        store: recordingStore().store,
        observer: { onWarning: () => {} },
      },
    );

    // Assert
    await expect(leg).rejects.toBe(refusal);
    expect(source.downloads).toEqual([]);
    expect(source.closed).toBe(1);
    expect(s3.sent("CreateMultipartUpload")).toEqual([]);
  });
});
