import { readdir, readFile, rm, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { join, resolve, sep } from "node:path";

const { TaggingConfiguration } = createRequire(import.meta.url)("s3rver/lib/models/config.js") as {
  TaggingConfiguration: new (xml: string) => unknown;
};

/**
 * The three multipart operations s3rver 3.7.1 lacks, answered from s3rver's own filesystem store so
 * they see the parts it really stored:
 *
 * - ListParts, `GET /<bucket>/<key>?uploadId=ID` (s3rver: 405),
 * - AbortMultipartUpload, `DELETE /<bucket>/<key>?uploadId=ID` (s3rver: 405),
 * - ListMultipartUploads, `GET /<bucket>?uploads` (s3rver: 501 NotImplemented);
 *
 * and one it ignores: the tags of a PutObject (`x-amz-tagging: k=v&…`), which s3rver stores no more
 * than S3 stores a PutObjectTagging's, once its own PutObject succeeded.
 *
 * s3rver keeps an open upload in `getResourcePath(bucket, undefined, "uploads")/<uploadId>/`: files
 * `key`, `metadata`, and per part `<partNumber>` and `<partNumber>.md5` (the `.md5` is written once the
 * part's bytes are all on disk, so a part without it is still arriving and is not listed). Completing or
 * aborting an upload removes the directory.
 *
 * Only path-style requests (what the SDK sends with `forcePathStyle`) are answered here; anything else
 * goes on to s3rver. Signatures are not checked for these three operations.
 *
 * ListParts always carries NextPartNumberMarker, as S3 does (the last part listed, 0 for an empty page),
 * so a client must stop on IsTruncated: the SDK v3's `paginateListParts` follows the marker alone and
 * would loop, here as against S3.
 *
 * s3rver's own multipart operations stay lax where S3 is strict. Complete checks neither ETags
 * (InvalidPart) nor part sizes (EntityTooSmall), stores the object under the upload's key whatever key
 * the request names, answers 500 InternalError rather than NoSuchUpload for an unknown upload, and a
 * listed part never uploaded crashes the process (an unhandled stream error). UploadPart to an unknown
 * or aborted upload id succeeds and leaves a directory without `key`, which is not counted as an upload
 * here. Its ETags are plain MD5s, the completed object's too (not S3's "<md5 of md5s>-<parts>").
 */

/** The part of s3rver's FilesystemStore (lib/stores/filesystem.js) used here. */
interface S3rverStore {
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  getBucket(bucket: string): Promise<unknown>;
  putSubresource(bucket: string, key: string, resource: unknown): Promise<void>;
}

/** The part of a Koa context used here. */
interface KoaContext {
  method: string;
  get(header: string): string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  status: number;
  type: string;
  body: unknown;
}

type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;

/** s3rver is a Koa application; its types (types/s3rver.d.ts) leave these out. */
interface S3rverInternals {
  middleware: KoaMiddleware[];
  store: S3rverStore;
}

const XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/";
/** s3rver's hard-coded account (lib/models/account.js), the owner of everything it stores. */
const OWNER = { ID: "123456789000", DisplayName: "S3rver" };
const MAX_LIST = 1000;
/** s3rver's upload ids: 16 random bytes in hex. Anything else could name a path outside the store. */
const UPLOAD_ID = /^[0-9a-f]{32}$/;
/** Bucket names as s3rver stores them: one path segment, never "." or "..". */
const BUCKET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

/**
 * Puts the middleware in front of s3rver's own (its logger, XML encoder and router), so it answers the
 * three operations before s3rver's router refuses them. Call before `run()`: Koa composes its
 * middleware when the server starts listening.
 */
export function installS3rverMultipart(server: object): void {
  const app = server as Partial<S3rverInternals>;
  if (!Array.isArray(app.middleware) || typeof app.store?.getResourcePath !== "function") {
    throw new Error("s3rver-multipart: not an s3rver 3.x instance (no Koa middleware or filesystem store)");
  }
  app.middleware.unshift(s3rverMultipart(app.store));
}

function s3rverMultipart(store: S3rverStore): KoaMiddleware {
  return async (ctx, next) => {
    const target = parsePath(ctx.path);
    if (target === undefined) return next();
    const { bucket, key } = target;
    const method = ctx.method.toUpperCase();
    const uploadId = first(ctx.query.uploadId);
    const tagging = ctx.get("x-amz-tagging");
    // A PutObject: no sub-resource in the query (the SDK adds only x-id=PutObject).
    const plainPut = Object.keys(ctx.query).every((name) => name === "x-id");
    if (method === "PUT" && key !== "" && plainPut && tagging !== "") {
      await next(); // s3rver's PutObject
      if (ctx.status >= 200 && ctx.status < 300) {
        await store.putSubresource(bucket, key, new TaggingConfiguration(taggingXml(tagging)));
      }
      return;
    }

    let operation: "ListParts" | "AbortMultipartUpload" | "ListMultipartUploads";
    if (key !== "" && uploadId !== undefined && method === "GET") operation = "ListParts";
    else if (key !== "" && uploadId !== undefined && method === "DELETE") operation = "AbortMultipartUpload";
    else if (key === "" && "uploads" in ctx.query && method === "GET") operation = "ListMultipartUploads";
    else return next();

    if (!BUCKET_NAME.test(bucket) || (await store.getBucket(bucket)) == null) {
      return reply(
        ctx,
        404,
        errorXml("NoSuchBucket", "The specified bucket does not exist", { BucketName: bucket }),
      );
    }
    const uploadsRoot = resolve(store.getResourcePath(bucket, undefined, "uploads"));

    if (operation === "ListMultipartUploads") return listMultipartUploads(ctx, bucket, uploadsRoot);

    const upload = await openUpload(uploadsRoot, uploadId ?? "", key);
    if (upload === undefined) {
      return reply(
        ctx,
        404,
        errorXml(
          "NoSuchUpload",
          "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
          { UploadId: uploadId ?? "" },
        ),
      );
    }
    if (operation === "AbortMultipartUpload") {
      await rm(upload, { recursive: true, force: true });
      ctx.status = 204;
      ctx.body = null;
      return;
    }
    return listParts(ctx, bucket, key, uploadId ?? "", upload);
  };
}

/** `/<bucket>` or `/<bucket>/<key>`, decoded as s3rver's router decodes them; undefined if not path-style. */
function parsePath(rawPath: string): { bucket: string; key: string } | undefined {
  const match = /^\/([^/]+)(?:\/(.*))?$/.exec(rawPath);
  if (match === null) return undefined;
  try {
    return { bucket: decodeURIComponent(match[1] ?? ""), key: decodeURIComponent(match[2] ?? "") };
  } catch {
    return undefined; // malformed escapes: s3rver answers those itself
  }
}

/** The upload's directory if `uploadId` names an upload of `key`; undefined for NoSuchUpload. */
async function openUpload(uploadsRoot: string, uploadId: string, key: string): Promise<string | undefined> {
  if (!UPLOAD_ID.test(uploadId)) return undefined;
  const directory = join(uploadsRoot, uploadId);
  if (!directory.startsWith(uploadsRoot + sep)) return undefined;
  const storedKey = await readFile(join(directory, "key"), "utf8").catch(() => undefined);
  return storedKey === key ? directory : undefined;
}

async function listParts(
  ctx: KoaContext,
  bucket: string,
  key: string,
  uploadId: string,
  directory: string,
): Promise<void> {
  const maxParts = integerParameter(ctx.query["max-parts"], MAX_LIST);
  const marker = integerParameter(ctx.query["part-number-marker"], 0);
  if (maxParts === undefined || marker === undefined) {
    const name = maxParts === undefined ? "max-parts" : "part-number-marker";
    return reply(
      ctx,
      400,
      errorXml("InvalidArgument", `Provided ${name} not an integer or within integer range`, {
        ArgumentName: name,
        ArgumentValue: first(ctx.query[name]) ?? "",
      }),
    );
  }
  const limit = Math.min(maxParts, MAX_LIST);

  const names = await readdir(directory).catch(() => [] as string[]);
  const numbers = names
    .filter((name) => /^\d+$/.test(name) && names.includes(`${name}.md5`))
    .map((name) => ({ name, number: Number(name) }))
    .filter(({ number }) => number > marker)
    .sort((a, b) => a.number - b.number);
  const page = numbers.slice(0, limit);
  const parts = (
    await Promise.all(
      page.map(async ({ name, number }) => {
        try {
          const [stats, md5] = await Promise.all([
            stat(join(directory, name)),
            readFile(join(directory, `${name}.md5`), "utf8"),
          ]);
          return { number, lastModified: stats.mtime, etag: JSON.stringify(md5.trim()), size: stats.size };
        } catch {
          return undefined; // completed or aborted meanwhile
        }
      }),
    )
  ).filter((part) => part !== undefined);

  const body = element(
    "ListPartsResult",
    [
      text("Bucket", bucket),
      text("Key", key),
      text("UploadId", uploadId),
      owner("Initiator"),
      owner("Owner"),
      text("StorageClass", "STANDARD"),
      text("PartNumberMarker", String(marker)),
      text("NextPartNumberMarker", String(parts.at(-1)?.number ?? 0)),
      text("MaxParts", String(limit)),
      text("IsTruncated", String(numbers.length > page.length)),
      ...parts.map((part) =>
        element("Part", [
          text("PartNumber", String(part.number)),
          text("LastModified", part.lastModified.toISOString()),
          text("ETag", part.etag),
          text("Size", String(part.size)),
        ]),
      ),
    ],
    XMLNS,
  );
  return reply(ctx, 200, document(body));
}

interface OpenUpload {
  key: string;
  uploadId: string;
  initiated: Date;
}

async function listMultipartUploads(ctx: KoaContext, bucket: string, uploadsRoot: string): Promise<void> {
  if (first(ctx.query.delimiter)) {
    return reply(
      ctx,
      501,
      errorXml(
        "NotImplemented",
        "ListMultipartUploads with a delimiter is not implemented by this test server",
      ),
    );
  }
  const prefix = first(ctx.query.prefix) ?? "";
  const keyMarker = first(ctx.query["key-marker"]) ?? "";
  const uploadIdMarker = first(ctx.query["upload-id-marker"]) ?? "";
  const maxUploads = integerParameter(ctx.query["max-uploads"], MAX_LIST);
  if (maxUploads === undefined) {
    return reply(
      ctx,
      400,
      errorXml("InvalidArgument", "Provided max-uploads not an integer or within integer range", {
        ArgumentName: "max-uploads",
        ArgumentValue: first(ctx.query["max-uploads"]) ?? "",
      }),
    );
  }
  const limit = Math.min(maxUploads, MAX_LIST);

  const ids = (await readdir(uploadsRoot).catch(() => [] as string[])).filter((name) => UPLOAD_ID.test(name));
  const uploads = (
    await Promise.all(
      ids.map(async (uploadId): Promise<OpenUpload | undefined> => {
        const keyPath = join(uploadsRoot, uploadId, "key");
        try {
          const [key, stats] = await Promise.all([readFile(keyPath, "utf8"), stat(keyPath)]);
          return { key, uploadId, initiated: stats.mtime };
        } catch {
          return undefined; // completed or aborted meanwhile
        }
      }),
    )
  )
    .filter((upload) => upload !== undefined)
    .filter((upload) => upload.key.startsWith(prefix))
    // S3's order: by key, then by when each upload of the same key began.
    .sort(
      (a, b) =>
        compare(a.key, b.key) ||
        a.initiated.getTime() - b.initiated.getTime() ||
        compare(a.uploadId, b.uploadId),
    );

  const markerIndex = uploadIdMarker
    ? uploads.findIndex((u) => u.key === keyMarker && u.uploadId === uploadIdMarker)
    : -1;
  const after = uploads.filter((upload, index) => {
    if (!keyMarker) return true;
    if (upload.key > keyMarker) return true;
    if (upload.key < keyMarker || !uploadIdMarker) return false;
    return markerIndex >= 0 ? index > markerIndex : upload.uploadId > uploadIdMarker;
  });
  const page = after.slice(0, limit);
  const last = page.at(-1);

  const body = element(
    "ListMultipartUploadsResult",
    [
      text("Bucket", bucket),
      text("KeyMarker", keyMarker),
      text("UploadIdMarker", uploadIdMarker),
      text("NextKeyMarker", last?.key ?? ""),
      text("NextUploadIdMarker", last?.uploadId ?? ""),
      text("Prefix", prefix),
      text("MaxUploads", String(limit)),
      text("IsTruncated", String(after.length > page.length)),
      ...page.map((upload) =>
        element("Upload", [
          text("Key", upload.key),
          text("UploadId", upload.uploadId),
          owner("Initiator"),
          owner("Owner"),
          text("StorageClass", "STANDARD"),
          text("Initiated", upload.initiated.toISOString()),
        ]),
      ),
    ],
    XMLNS,
  );
  return reply(ctx, 200, document(body));
}

function reply(ctx: KoaContext, status: number, xml: string): void {
  ctx.status = status;
  ctx.type = "application/xml";
  ctx.body = xml;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** A non-negative integer query parameter; `fallback` when absent, undefined when malformed. */
function integerParameter(value: string | string[] | undefined, fallback: number): number | undefined {
  const raw = first(value);
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d{1,9}$/.test(raw)) return undefined;
  return Number(raw);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function escapeXml(value: string): string {
  return value
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

function text(name: string, value: string): string {
  return `<${name}>${escapeXml(value)}</${name}>`;
}

function element(name: string, children: string[], xmlns?: string): string {
  const attributes = xmlns === undefined ? "" : ` xmlns="${xmlns}"`;
  return `<${name}${attributes}>${children.join("")}</${name}>`;
}

function owner(name: "Initiator" | "Owner"): string {
  return element(name, [text("ID", OWNER.ID), text("DisplayName", OWNER.DisplayName)]);
}

function document(body: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
}

function errorXml(code: string, message: string, detail: Record<string, string> = {}): string {
  return document(
    element("Error", [
      text("Code", code),
      text("Message", message),
      ...Object.entries(detail).map(([name, value]) => text(name, value)),
    ]),
  );
}

/** `a=1&b=2` (x-amz-tagging, URL-encoded) as the Tagging document PutObjectTagging sends. */
function taggingXml(header: string): string {
  const tags = [...new URLSearchParams(header)]
    .map(([key, value]) => `<Tag><Key>${escapeXml(key)}</Key><Value>${escapeXml(value)}</Value></Tag>`)
    .join("");
  return `<Tagging xmlns="${XMLNS}"><TagSet>${tags}</TagSet></Tagging>`;
}
