import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface LostAnswerS3 {
  endpoint: string;
  /**
   * The next CompleteMultipartUpload goes through (the object is committed), then `meanwhile` runs
   * (another writer, say), then the connection is cut instead of answering: the answer is lost.
   */
  loseNextComplete(meanwhile?: () => Promise<void>): void;
  /** CompleteMultipartUpload requests received, and those answered NoSuchUpload. */
  completes: number;
  noSuchUpload: number;
  close(): Promise<void>;
}

/**
 * A proxy in front of s3rver that plays what S3 does around a Complete whose answer is lost: the
 * upload is committed, and a Complete sent again for it meets 404 NoSuchUpload. It also shows, as S3
 * does, a HEAD with `x-amz-checksum-mode: ENABLED` the CRC64NVME the object was written with (sent
 * with its CompleteMultipartUpload or PutObject), which s3rver does not keep.
 */
export async function startLostAnswerS3(targetEndpoint: string): Promise<LostAnswerS3> {
  const target = new URL(targetEndpoint);
  const completed = new Set<string>();
  const checksums = new Map<string, string>();
  let lose: { meanwhile: () => Promise<void> } | undefined;
  const proxy: LostAnswerS3 = {
    endpoint: "",
    loseNextComplete(meanwhile = async () => {}) {
      lose = { meanwhile };
    },
    completes: 0,
    noSuchUpload: 0,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const remember = (path: string, crc64nvme: string | undefined) => {
    if (crc64nvme === undefined) checksums.delete(path);
    else checksums.set(path, crc64nvme);
  };

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://proxy");
    const body = Buffer.concat(await req.toArray());
    const uploadId = url.searchParams.get("uploadId");
    const sent = header(req, "x-amz-checksum-crc64nvme");
    if (req.method === "POST" && uploadId !== null) {
      proxy.completes += 1;
      if (completed.has(uploadId)) {
        proxy.noSuchUpload += 1;
        res.writeHead(404, { "content-type": "application/xml" });
        res.end(
          `<?xml version="1.0"?><Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.</Message><UploadId>${uploadId}</UploadId></Error>`,
        );
        return;
      }
      const answer = await forward(req, body, target);
      if (answer.status === 200 && !answer.body.toString("utf8").includes("<Error>")) {
        completed.add(uploadId);
        remember(url.pathname, sent);
        const losing = lose;
        lose = undefined;
        if (losing !== undefined) {
          await losing.meanwhile();
          req.socket.destroy();
          return;
        }
      }
      return reply(res, answer);
    }
    const answer = await forward(req, body, target);
    if (
      req.method === "PUT" &&
      uploadId === null &&
      !url.searchParams.has("tagging") &&
      answer.status === 200
    ) {
      remember(url.pathname, sent);
    }
    const checksum = checksums.get(url.pathname);
    if (req.method === "HEAD" && header(req, "x-amz-checksum-mode") === "ENABLED" && checksum !== undefined) {
      answer.headers["x-amz-checksum-crc64nvme"] = checksum;
      answer.headers["x-amz-checksum-type"] = "FULL_OBJECT";
    }
    reply(res, answer);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  proxy.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}

interface Answer {
  status: number;
  headers: IncomingMessage["headers"];
  body: Buffer;
}

function forward(req: IncomingMessage, body: Buffer, target: URL): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      async (upstreamRes) => {
        const answer = Buffer.concat(await upstreamRes.toArray());
        resolve({ status: upstreamRes.statusCode ?? 502, headers: { ...upstreamRes.headers }, body: answer });
      },
    );
    upstream.on("error", reject);
    upstream.end(body);
  });
}

function reply(res: ServerResponse, answer: Answer): void {
  res.writeHead(answer.status, answer.headers);
  res.end(answer.body);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
