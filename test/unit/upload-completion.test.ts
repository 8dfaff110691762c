import { describe, expect, it } from "vitest";
import type { S3Location } from "../../functions/core/locations.js";
import { PartUpload } from "../../functions/core/part-upload.js";
import type { CommittedObject, ExistingObject } from "../../functions/core/ports.js";
import { fastSha256 } from "../../functions/core/sha256.js";
import { randomFile, sha256 } from "../support/bytes.js";
import { MemoryS3 } from "../support/memory-s3.js";

const partSize = 5 * 2 ** 20;
const target = { bucket: "b", key: "k.bin" };

/**
 * S3 that commits the Complete and loses its answer: the retry (the SDK's) then meets NoSuchUpload.
 * `meanwhile` runs between the two, as another writer might.
 */
class AnswerLosingS3 extends MemoryS3 {
  meanwhile: () => void = () => {};

  override async completeMultipartUpload(
    location: S3Location,
    uploadId: string,
    parts: { partNumber: number; etag: string }[],
    options: { ifNoneMatch: boolean },
  ): Promise<CommittedObject> {
    await super.completeMultipartUpload(location, uploadId, parts, options);
    this.meanwhile();
    return super.completeMultipartUpload(location, uploadId, parts, options);
  }
}

async function commitFile(s3: MemoryS3, file: Buffer) {
  const upload = new PartUpload(s3, target, {
    partSize,
    queueSize: 2,
    metadata: {},
    ifNoneMatch: true,
    expectedBytes: file.length,
    hash: fastSha256(),
  });
  await new Promise<void>((resolve, reject) =>
    upload.end(file, (error?: Error | null) => (error ? reject(error) : resolve())),
  );
  return upload.commit();
}

describe("a Complete whose answer was lost", () => {
  it("counts as committed when the object at the key is the one its parts make", async () => {
    // Arrange
    const s3 = new AnswerLosingS3();
    const file = randomFile(partSize + 1000);

    // Act
    const committed = await commitFile(s3, file);

    // Assert
    const stored = s3.objects.get("k.bin");
    expect(sha256(stored?.bytes as Buffer)).toBe(sha256(file));
    expect(committed.etag).toBe(stored?.etag);
    expect(committed.sha256).toBe(sha256(file));
    expect(committed.answerLost).toMatch(
      /^upload upload-1 to s3:\/\/b\/k\.bin was gone when its completion was asked again .*: the object at the key is this upload's \(5243880 bytes, ETag [0-9a-f]{32}-2 as its parts make it\), so it counts as committed$/,
    );
    expect(s3.sent("HeadObject")).toHaveLength(1);
    expect(s3.openUploads()).toEqual([]);
  });

  it("fails as before when another object of the same size replaced it meanwhile", async () => {
    const s3 = new AnswerLosingS3();
    const file = randomFile(partSize + 1000);
    s3.meanwhile = () => s3.seed("k.bin", randomFile(file.length));

    await expect(commitFile(s3, file)).rejects.toMatchObject({
      code: "S3",
      httpStatus: 404,
      message: "NoSuchUpload: upload-1 (HTTP 404)",
    });
  });

  it("fails as before when the upload is gone and nothing is at the key", async () => {
    const s3 = new AnswerLosingS3();
    s3.meanwhile = () => s3.objects.delete("k.bin");

    await expect(commitFile(s3, randomFile(partSize + 1000))).rejects.toMatchObject({ httpStatus: 404 });
  });

  it("takes the CRC64NVME S3 shows for proof where one was sent: another refuses even the parts' ETag", async () => {
    // A stand-in checksum: what is compared is the value sent with the Complete and the one HEAD shows.
    const s3 = new (class extends AnswerLosingS3 {
      shownCrc = "";
      override async head(
        location: S3Location,
        options?: { checksum?: boolean },
      ): Promise<ExistingObject | null> {
        const found = await super.head(location);
        return found === null || !options?.checksum ? found : { ...found, crc64nvme: this.shownCrc };
      }
    })();
    const crc = { update: async () => "part", value: async () => "sent" };
    const commitWithCrc = (file: Buffer) => {
      const upload = new PartUpload(s3, target, {
        partSize,
        queueSize: 2,
        metadata: {},
        ifNoneMatch: false,
        expectedBytes: file.length,
        hash: fastSha256(),
        crc,
      });
      upload.end(file);
      return upload.commit();
    };

    s3.shownCrc = "sent";
    expect((await commitWithCrc(randomFile(partSize + 1000))).answerLost).toMatch(
      /\(5243880 bytes, CRC64NVME sent as sent\)/,
    );
    s3.shownCrc = "another";
    await expect(commitWithCrc(randomFile(partSize + 1000))).rejects.toMatchObject({ httpStatus: 404 });
  });
});
