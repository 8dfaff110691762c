import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  type ListPartsCommandOutput,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedS3Server, startS3rver } from "../support/embedded-s3.js";
import { objectTags, randomFile, readObject, sha256 } from "../support/objects.js";
import { startS3Recorder } from "../support/s3-recorder.js";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

const MiB = 1024 * 1024;
const bucket = "multipart";

// The SDK v3 against s3rver with ListParts, AbortMultipartUpload and ListMultipartUploads added over
// its own store (test/support/s3rver-multipart.ts): what a resumed copy needs to find its parts.
describe("s3rver multipart additions", () => {
  let work: string;
  let s3: EmbeddedS3Server;
  let client: S3Client;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "ftp2s3-s3rver-multipart-"));
    s3 = await startS3rver(work);
    await s3.createBucket(bucket);
    client = s3.client();
  });
  afterAll(async () => {
    client?.destroy();
    await s3?.close();
    await rm(work, { recursive: true, force: true });
  });

  async function create(key: string): Promise<string> {
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
    expect(UploadId).toMatch(/^[0-9a-f]{32}$/);
    return UploadId as string;
  }

  async function upload(key: string, uploadId: string, partNumber: number, body: Buffer): Promise<string> {
    const { ETag } = await client.send(
      new UploadPartCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        PartNumber: partNumber,
        Body: body,
      }),
    );
    return ETag as string;
  }

  async function listUploads(
    prefix?: string,
  ): Promise<{ Key?: string; UploadId?: string; Initiated?: Date }[]> {
    const { Uploads } = await client.send(
      new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }),
    );
    return Uploads ?? [];
  }

  async function failure(promise: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
    const error = await promise.then(
      () => expect.unreachable("expected the request to fail"),
      (e: unknown) => e as { name: string; $metadata?: { httpStatusCode?: number } },
    );
    return { name: error.name, status: error.$metadata?.httpStatusCode };
  }

  describe("an upload of two 5 MiB parts and a small one", () => {
    const key = "resume/data file #1.bin";
    const bodies = [randomFile(5 * MiB), randomFile(5 * MiB), randomFile(1234)];
    let uploadId: string;
    const etags: string[] = [];

    beforeAll(async () => {
      uploadId = await create(key);
      // Out of order, as concurrent part uploads finish.
      etags[2] = await upload(key, uploadId, 3, bodies[2] as Buffer);
      etags[0] = await upload(key, uploadId, 1, bodies[0] as Buffer);
      etags[1] = await upload(key, uploadId, 2, bodies[1] as Buffer);
    });

    it("ListParts returns the three by part number, with their sizes and the ETags UploadPart returned", async () => {
      const listed = await client.send(
        new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId }),
      );

      expect(listed).toMatchObject({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        MaxParts: 1000,
        IsTruncated: false,
        StorageClass: "STANDARD",
      });
      expect(listed.Parts?.map(({ PartNumber, Size, ETag }) => ({ PartNumber, Size, ETag }))).toEqual([
        { PartNumber: 1, Size: 5 * MiB, ETag: etags[0] },
        { PartNumber: 2, Size: 5 * MiB, ETag: etags[1] },
        { PartNumber: 3, Size: 1234, ETag: etags[2] },
      ]);
      expect(etags[0]).toMatch(/^"[0-9a-f]{32}"$/);
      for (const part of listed.Parts ?? []) {
        expect(part.LastModified).toBeInstanceOf(Date);
        expect(Math.abs(Date.now() - (part.LastModified as Date).getTime())).toBeLessThan(60_000);
      }
    });

    it("pages with MaxParts 2: two pages, following NextPartNumberMarker until IsTruncated is false", async () => {
      const pages: ListPartsCommandOutput[] = [];
      let marker: string | undefined;
      do {
        const page = await client.send(
          new ListPartsCommand({
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            MaxParts: 2,
            PartNumberMarker: marker,
          }),
        );
        pages.push(page);
        marker = page.NextPartNumberMarker;
      } while (pages.at(-1)?.IsTruncated && pages.length < 10);

      expect(
        pages.map((p) => [p.PartNumberMarker, p.NextPartNumberMarker, p.IsTruncated, p.MaxParts]),
      ).toEqual([
        ["0", "2", true, 2],
        ["2", "3", false, 2],
      ]);
      expect(pages.flatMap((p) => p.Parts ?? []).map((p) => [p.PartNumber, p.ETag])).toEqual([
        [1, etags[0]],
        [2, etags[1]],
        [3, etags[2]],
      ]);
    });

    it("past the last part: an empty page, not truncated, NextPartNumberMarker 0 (as S3: stop on IsTruncated)", async () => {
      const page = await client.send(
        new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumberMarker: "3" }),
      );

      expect(page.Parts ?? []).toEqual([]);
      expect(page).toMatchObject({ IsTruncated: false, PartNumberMarker: "3", NextPartNumberMarker: "0" });
    });

    it("an upload id that is not this key's, or not one at all, is NoSuchUpload", async () => {
      const otherKey = failure(
        client.send(new ListPartsCommand({ Bucket: bucket, Key: "resume/other.bin", UploadId: uploadId })),
      );
      const unknown = failure(
        client.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: "0".repeat(32) })),
      );
      const escaping = failure(
        client.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: "../.." })),
      );

      expect(await otherKey).toEqual({ name: "NoSuchUpload", status: 404 });
      expect(await unknown).toEqual({ name: "NoSuchUpload", status: 404 });
      expect(await escaping).toEqual({ name: "NoSuchUpload", status: 404 });
    });

    it("ListMultipartUploads lists it while it is open", async () => {
      const uploads = await listUploads("resume/");

      expect(uploads.map(({ Key, UploadId }) => ({ Key, UploadId }))).toContainEqual({
        Key: key,
        UploadId: uploadId,
      });
      expect(uploads.find((u) => u.UploadId === uploadId)?.Initiated).toBeInstanceOf(Date);
    });

    it("CompleteMultipartUpload with the listed parts stores exactly the bytes sent; the upload is gone", async () => {
      const listed = await client.send(
        new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId }),
      );

      await client.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: {
            Parts: (listed.Parts ?? []).map(({ PartNumber, ETag }) => ({ PartNumber, ETag })),
          },
        }),
      );

      expect(sha256(await readObject(client, bucket, key))).toBe(sha256(Buffer.concat(bodies)));
      expect((await listUploads()).map((u) => u.UploadId)).not.toContain(uploadId);
      expect(
        await failure(client.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))),
      ).toEqual({ name: "NoSuchUpload", status: 404 });
    });
  });

  describe("aborting", () => {
    it("AbortMultipartUpload removes the upload: ListParts is then NoSuchUpload, and it is no longer listed", async () => {
      const key = "aborted/a.bin";
      const uploadId = await create(key);
      await upload(key, uploadId, 1, randomFile(1000));
      expect((await listUploads("aborted/")).map((u) => u.UploadId)).toEqual([uploadId]);

      const aborted = await client.send(
        new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }),
      );

      expect(aborted.$metadata.httpStatusCode).toBe(204);
      expect(
        await failure(client.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))),
      ).toEqual({ name: "NoSuchUpload", status: 404 });
      expect(await listUploads("aborted/")).toEqual([]);
      expect(
        await failure(
          client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })),
        ),
      ).toEqual({ name: "NoSuchUpload", status: 404 });
    });

    it("an abort naming another key leaves the upload alone", async () => {
      const uploadId = await create("aborted/kept.bin");

      expect(
        await failure(
          client.send(
            new AbortMultipartUploadCommand({ Bucket: bucket, Key: "aborted/other.bin", UploadId: uploadId }),
          ),
        ),
      ).toEqual({ name: "NoSuchUpload", status: 404 });
      expect((await listUploads("aborted/")).map((u) => u.UploadId)).toEqual([uploadId]);
      await client.send(
        new AbortMultipartUploadCommand({ Bucket: bucket, Key: "aborted/kept.bin", UploadId: uploadId }),
      );
    });
  });

  describe("ListMultipartUploads", () => {
    it("lists open uploads by key under the prefix, not aborted or completed ones", async () => {
      const open = [await create("listed/b.bin"), await create("listed/a.bin"), await create("listed/a.bin")];
      const aborted = await create("listed/c.bin");
      await client.send(
        new AbortMultipartUploadCommand({ Bucket: bucket, Key: "listed/c.bin", UploadId: aborted }),
      );
      const completed = await create("listed/d.bin");
      const etag = await upload("listed/d.bin", completed, 1, randomFile(10));
      await client.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: "listed/d.bin",
          UploadId: completed,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: etag }] },
        }),
      );
      const elsewhere = await create("unlisted/e.bin");

      const listed = await listUploads("listed/");

      // By key; two uploads of one key by when they began, which the file system's clock may not tell apart.
      expect(listed.map((u) => u.Key)).toEqual(["listed/a.bin", "listed/a.bin", "listed/b.bin"]);
      expect(listed.map((u) => u.UploadId).sort()).toEqual([...open].sort());
      expect(listed[2]?.UploadId).toBe(open[0]);
      expect((await listUploads()).map((u) => u.UploadId)).toContain(elsewhere);
      for (const id of [...open, elsewhere]) {
        const upload = [...listed, ...(await listUploads("unlisted/"))].find((u) => u.UploadId === id);
        await client.send(
          new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload?.Key, UploadId: id }),
        );
      }
      expect(await listUploads()).toEqual([]);
    });

    it("a bucket that does not exist is NoSuchBucket", async () => {
      expect(
        await failure(client.send(new ListMultipartUploadsCommand({ Bucket: "no-such-bucket" }))),
      ).toEqual({
        name: "NoSuchBucket",
        status: 404,
      });
    });
  });

  it("stores the tags of a PutObject (x-amz-tagging), as S3 does; a PutObject without them leaves none", async () => {
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: "tagged.txt",
        Body: "x",
        Tagging: "sha256=ab%20c&team=x%26y",
      }),
    );
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: "plain.txt", Body: "y" }));

    expect(await objectTags(client, bucket, "tagged.txt")).toEqual({ sha256: "ab c", team: "x&y" });
    expect(await objectTags(client, bucket, "plain.txt")).toEqual({});
  });

  it("the recorder names the three operations (GET ?uploadId is ListParts, not GetObject)", async () => {
    const recorder = await startS3Recorder(s3.endpoint);
    const viaRecorder = new S3Client({
      endpoint: recorder.endpoint,
      forcePathStyle: true,
      region: "us-east-1",
      credentials: {
        accessKeyId: s3.env.AWS_ACCESS_KEY_ID ?? "",
        secretAccessKey: s3.env.AWS_SECRET_ACCESS_KEY ?? "",
      },
    });
    try {
      const key = "recorded/r.bin";
      const { UploadId } = await viaRecorder.send(
        new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }),
      );
      await viaRecorder.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId }));
      await viaRecorder.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: "recorded/" }));
      await viaRecorder.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId }));

      expect(recorder.requests.map((r) => [r.operation, r.status])).toEqual([
        ["CreateMultipartUpload", 200],
        ["ListParts", 200],
        ["ListMultipartUploads", 200],
        ["AbortMultipartUpload", 204],
      ]);
      expect(recorder.openUploads()).toEqual([]);
    } finally {
      viaRecorder.destroy();
      await recorder.close();
    }
  });

  it("what the store holds for open uploads is only upload directories s3rver made", async () => {
    const uploadId = await create("store/x.bin");
    const uploadsDir = join(work, bucket, "._S3rver_uploads");

    expect(await readdir(uploadsDir)).toContain(uploadId);
    await client.send(
      new AbortMultipartUploadCommand({ Bucket: bucket, Key: "store/x.bin", UploadId: uploadId }),
    );
    expect(await readdir(uploadsDir)).not.toContain(uploadId);
  });
});
