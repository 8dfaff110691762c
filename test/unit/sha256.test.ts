import { createHash, randomBytes, randomInt } from "node:crypto";
import { describe, expect, it } from "vitest";
import { crc64nvmeOf } from "../../functions/adapters/crc64nvme-slicing.js";
import { crc64nvmeOffThread } from "../../functions/adapters/crc64nvme-worker.js";
import { offThreadSha256, type SharedBytes } from "../../functions/core/part-worker.js";
import { fastSha256, resumableSha256 } from "../../functions/core/sha256.js";

const MiB = 2 ** 20;

function sha256Of(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Bytes in shared memory, as PartUpload's part buffers are, at an offset inside a larger buffer. */
function sharedCopy(bytes: Uint8Array, offset = 0): Buffer & SharedBytes {
  const shared = Buffer.from(new SharedArrayBuffer(bytes.length + offset + 3));
  shared.set(bytes, offset);
  return shared.subarray(offset, offset + bytes.length) as Buffer & SharedBytes;
}

/** Random cut points: parts of random sizes, the way a file's parts and legs fall. */
function cut(bytes: Buffer, pieces: number): Buffer[] {
  const points = [...Array(pieces - 1)].map(() => randomInt(bytes.length)).sort((a, b) => a - b);
  return [0, ...points].map((start, index) => bytes.subarray(start, points[index] ?? bytes.length));
}

describe("the copy's SHA-256", () => {
  it("off the main thread gives node:crypto's digest, for shared parts at any offset and copied ones", async () => {
    for (let round = 0; round < 3; round += 1) {
      // Arrange
      const whole = randomBytes(randomInt(2 * MiB, 5 * MiB));
      const parts = cut(whole, 4);
      const hash = offThreadSha256();

      // Act: even parts in shared memory (read in place), odd ones ordinary (copied to the worker).
      await Promise.all(parts.map((part, index) => hash.update(index % 2 ? part : sharedCopy(part, index))));

      // Assert
      expect(await hash.digest()).toBe(sha256Of(whole));
    }
  });

  it("keeps many hashes apart in the one worker, updated interleaved", async () => {
    const wholes = [...Array(5)].map(() => randomBytes(randomInt(1, 3 * MiB)));
    const hashes = wholes.map(() => offThreadSha256());
    const partsOf = wholes.map((whole) => cut(whole, 3));

    for (let part = 0; part < 3; part += 1) {
      await Promise.all(hashes.map((hash, index) => hash.update(sharedCopy(partsOf[index]![part]!))));
    }

    expect(await Promise.all(hashes.map((hash) => hash.digest()))).toEqual(wholes.map(sha256Of));
  });

  it("shares the one worker with the parts' CRC64NVME, each answering right when interleaved", async () => {
    const parts = [...Array(4)].map(() => sharedCopy(randomBytes(MiB + randomInt(1000))));
    const hash = offThreadSha256();

    const crcs = await Promise.all(
      parts.map((part) => Promise.all([hash.update(part), crc64nvmeOffThread(part)]).then(([, crc]) => crc)),
    );

    expect(crcs).toEqual(parts.map((part) => crc64nvmeOf(part)));
    expect(await hash.digest()).toBe(sha256Of(Buffer.concat(parts)));
  });

  it("fastSha256 gives node:crypto's digest whether it starts with a part in shared memory or not", async () => {
    const whole = randomBytes(3 * MiB + 17);
    const [first, second, tail] = [
      whole.subarray(0, MiB),
      whole.subarray(MiB, 3 * MiB),
      whole.subarray(3 * MiB),
    ];
    const worker = fastSha256();
    const here = fastSha256();

    await Promise.all([sharedCopy(first), sharedCopy(second), tail].map((part) => worker.update(part)));
    for (const part of [first, sharedCopy(second), tail]) await here.update(part);

    expect(await worker.digest()).toBe(sha256Of(whole));
    expect(await here.digest()).toBe(sha256Of(whole));
    expect(await fastSha256().digest()).toBe(sha256Of(Buffer.alloc(0)));
    expect(await fastSha256().save()).toBeUndefined();
  });

  it("resumableSha256 goes on from a saved state to node:crypto's digest of the whole", async () => {
    for (let round = 0; round < 3; round += 1) {
      // Arrange: a copy that stops after some parts, then goes on from its saved state.
      const whole = randomBytes(randomInt(1, 4 * MiB));
      const [before, after] = cut(whole, 2) as [Buffer, Buffer];
      const first = await resumableSha256();
      await first.update(sharedCopy(before));
      const saved = await first.save();

      // Act
      const resumed = await resumableSha256(saved);
      await resumed.update(after);

      // Assert
      expect(await resumed.digest()).toBe(sha256Of(whole));
    }
  });
});
