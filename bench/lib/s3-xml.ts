/** The XML of the S3 answers the discard server gives (bench/lib/discard-s3.ts), and the little it reads. */

export interface ListedEntry {
  key: string;
  size: number;
  etag: string;
  lastModified: Date;
}

export const escapeXml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!,
  );

const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';
const NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';

export const errorXml = (code: string, message: string) =>
  `${DECLARATION}<Error><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error>`;

export const initiateXml = (bucket: string, key: string, uploadId: string) =>
  `${DECLARATION}<InitiateMultipartUploadResult ${NS}><Bucket>${escapeXml(bucket)}</Bucket><Key>${escapeXml(key)}</Key><UploadId>${uploadId}</UploadId></InitiateMultipartUploadResult>`;

export const completeXml = (bucket: string, key: string, etag: string) =>
  `${DECLARATION}<CompleteMultipartUploadResult ${NS}><Location>/${escapeXml(bucket)}/${escapeXml(key)}</Location><Bucket>${escapeXml(bucket)}</Bucket><Key>${escapeXml(key)}</Key><ETag>&quot;${etag}&quot;</ETag></CompleteMultipartUploadResult>`;

export function listPartsXml(
  bucket: string,
  key: string,
  uploadId: string,
  parts: { partNumber: number; size: number; etag: string; checksums: Record<string, string> }[],
): string {
  const items = parts
    .map(
      (p) =>
        `<Part><PartNumber>${p.partNumber}</PartNumber><Size>${p.size}</Size><ETag>&quot;${p.etag}&quot;</ETag>${checksumElements(p.checksums)}</Part>`,
    )
    .join("");
  return `${DECLARATION}<ListPartsResult ${NS}><Bucket>${escapeXml(bucket)}</Bucket><Key>${escapeXml(key)}</Key><UploadId>${uploadId}</UploadId><IsTruncated>false</IsTruncated>${items}</ListPartsResult>`;
}

/** x-amz-checksum-crc64nvme → <ChecksumCRC64NVME>, as ListParts shows a part's checksums. */
function checksumElements(checksums: Record<string, string>): string {
  return Object.entries(checksums)
    .map(([header, value]) => {
      const name = `Checksum${header.replace("x-amz-checksum-", "").toUpperCase()}`;
      return `<${name}>${escapeXml(value)}</${name}>`;
    })
    .join("");
}

export interface ListPage {
  entries: ListedEntry[];
  commonPrefixes: string[];
  truncated: boolean;
  /** The last key or common prefix of the page: where the next page starts after. */
  cursor: string | undefined;
}

/** ListObjectsV2 (`v2`) or ListObjects (v1, rclone's choice for provider "Other"). */
export function listXml(
  bucket: string,
  query: URLSearchParams,
  page: ListPage,
  v2: boolean,
  encodeKey: (key: string) => string,
): string {
  const contents = page.entries
    .map(
      (e) =>
        `<Contents><Key>${encodeKey(e.key)}</Key><LastModified>${e.lastModified.toISOString()}</LastModified><ETag>&quot;${e.etag}&quot;</ETag><Size>${e.size}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
    )
    .join("");
  const prefixes = page.commonPrefixes
    .map((p) => `<CommonPrefixes><Prefix>${encodeKey(p)}</Prefix></CommonPrefixes>`)
    .join("");
  const echo = (name: string, param: string) =>
    query.has(param) ? `<${name}>${encodeKey(query.get(param) ?? "")}</${name}>` : "";
  const next =
    page.truncated && page.cursor !== undefined
      ? v2
        ? `<NextContinuationToken>${Buffer.from(page.cursor).toString("base64url")}</NextContinuationToken>`
        : `<NextMarker>${encodeKey(page.cursor)}</NextMarker>`
      : "";
  const v2Fields = v2
    ? `<KeyCount>${page.entries.length + page.commonPrefixes.length}</KeyCount>${query.has("continuation-token") ? `<ContinuationToken>${escapeXml(query.get("continuation-token") ?? "")}</ContinuationToken>` : ""}`
    : echo("Marker", "marker");
  const encoding = query.get("encoding-type") === "url" ? "<EncodingType>url</EncodingType>" : "";
  return `${DECLARATION}<ListBucketResult ${NS}><Name>${escapeXml(bucket)}</Name>${echo("Prefix", "prefix")}${echo("Delimiter", "delimiter")}<MaxKeys>${query.get("max-keys") ?? 1000}</MaxKeys>${encoding}${v2Fields}<IsTruncated>${page.truncated}</IsTruncated>${next}${contents}${prefixes}</ListBucketResult>`;
}

export const deleteResultXml = (deleted: string[], quiet: boolean) =>
  `${DECLARATION}<DeleteResult ${NS}>${quiet ? "" : deleted.map((k) => `<Deleted><Key>${escapeXml(k)}</Key></Deleted>`).join("")}</DeleteResult>`;

const unescapeXml = (text: string) =>
  text.replace(
    /&(amp|lt|gt|quot|apos);/g,
    (_, name: string) => ({ amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" })[name]!,
  );

/** The values of every `<name>` element in `xml`, in order (enough for DeleteObjects and Complete). */
export const elementValues = (xml: string, name: string) =>
  [...xml.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, "g"))].map((m) => unescapeXml(m[1]!));
