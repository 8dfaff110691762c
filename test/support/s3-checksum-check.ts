import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Crc64Nvme } from "@aws-sdk/crc64-nvme";

/** What the checking proxy saw of one upload or object. */
export interface ChecksumObservation {
  /** CreateMultipartUpload's x-amz-checksum-algorithm and x-amz-checksum-type. */
  created?: { algorithm: string | undefined; type: string | undefined };
  /** The x-amz-checksum-crc64nvme sent with CompleteMultipartUpload or PutObject. */
  sent?: string;
  /** BadDigest answers given. */
  refused: number;
}

export interface ChecksumCheckingS3 {
  endpoint: string;
  /** By upload id (multipart) or by path (PutObject). */
  seen: Map<string, ChecksumObservation>;
  /** Flip one byte of this part (1 for a PutObject) on its way to the server. */
  flip: { partNumber: number } | undefined;
  /** Check each part's own checksum at UploadPart, as S3 does; false lets a flipped part through to Complete. */
  checkParts: boolean;
  close(): Promise<void>;
}

/**
 * A proxy in front of s3rver (which ignores checksums) that checks them as S3 does: a PutObject's
 * x-amz-checksum-crc64nvme against its body, each UploadPart's against the part, and the full-object
 * CRC64NVME sent with CompleteMultipartUpload against the bytes of the parts it lists, answering
 * 400 BadDigest with S3's message. It keeps the parts' bytes in memory: small files only.
 */
export async function startChecksumCheckingS3(targetEndpoint: string): Promise<ChecksumCheckingS3> {
  const target = new URL(targetEndpoint);
  const parts = new Map<string, Map<number, Buffer>>();
  const proxy: ChecksumCheckingS3 = {
    endpoint: "",
    seen: new Map(),
    flip: undefined,
    checkParts: true,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const observe = (id: string) => {
    let seen = proxy.seen.get(id);
    if (seen === undefined) {
      seen = { refused: 0 };
      proxy.seen.set(id, seen);
    }
    return seen;
  };

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://proxy");
    let body: Buffer = Buffer.concat(await req.toArray());
    const uploadId = url.searchParams.get("uploadId");
    const partNumber = Number(url.searchParams.get("partNumber") ?? "0");
    const sent = header(req, "x-amz-checksum-crc64nvme");
    const bad = (id: string, what: string) => {
      observe(id).refused++;
      res.writeHead(400, { "content-type": "application/xml" });
      res.end(
        `<?xml version="1.0"?><Error><Code>BadDigest</Code><Message>The CRC64NVME you specified did not match the calculated checksum (${what}).</Message></Error>`,
      );
    };
    if (req.method === "POST" && url.searchParams.has("uploads")) {
      return forward(req, res, target, body, (answer) => {
        const id = /<UploadId>([^<]+)<\/UploadId>/.exec(answer)?.[1];
        if (id === undefined) return;
        observe(id).created = {
          algorithm: header(req, "x-amz-checksum-algorithm"),
          type: header(req, "x-amz-checksum-type"),
        };
        parts.set(id, new Map());
      });
    }
    if (req.method === "PUT" && uploadId !== null) {
      if (proxy.flip?.partNumber === partNumber) body = flipped(body);
      if (proxy.checkParts && sent !== undefined && (await crc(body)) !== sent) return bad(uploadId, "part");
      parts.get(uploadId)?.set(partNumber, body);
      return forward(req, res, target, body);
    }
    if (req.method === "POST" && uploadId !== null) {
      const seen = observe(uploadId);
      if (sent !== undefined) seen.sent = sent;
      const listed = [...body.toString("utf8").matchAll(/<PartNumber>(\d+)<\/PartNumber>/g)].map((m) =>
        Number(m[1]),
      );
      const held = parts.get(uploadId);
      const bytes = Buffer.concat(listed.map((n) => held?.get(n) ?? Buffer.alloc(0)));
      if (seen.created?.type === "FULL_OBJECT" && sent !== undefined && (await crc(bytes)) !== sent) {
        return bad(uploadId, "object");
      }
      return forward(req, res, target, body);
    }
    if (req.method === "PUT" && !url.searchParams.has("tagging") && sent !== undefined) {
      observe(url.pathname).sent = sent;
      if (proxy.flip?.partNumber === 1) body = flipped(body);
      if ((await crc(body)) !== sent) return bad(url.pathname, "object");
    }
    forward(req, res, target, body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  proxy.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}

/** The CRC64NVME of the bytes, base64, as S3 writes it. */
export async function crc(bytes: Uint8Array): Promise<string> {
  const checksum = new Crc64Nvme();
  checksum.update(bytes);
  return Buffer.from(await checksum.digest()).toString("base64");
}

function flipped(body: Buffer): Buffer {
  const copy = Buffer.from(body);
  const at = Math.floor(copy.length / 2);
  copy[at] = (copy[at] ?? 0) ^ 0xff;
  return copy;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function forward(
  req: IncomingMessage,
  res: ServerResponse,
  target: URL,
  body: Buffer,
  onAnswer?: (text: string) => void,
): void {
  const upstream = httpRequest(
    { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
    (upstreamRes) => {
      const chunks: Buffer[] = [];
      upstreamRes.on("data", (chunk: Buffer) => chunks.push(chunk));
      upstreamRes.on("end", () => {
        const answer = Buffer.concat(chunks);
        onAnswer?.(answer.toString("utf8"));
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        res.end(answer);
      });
    },
  );
  upstream.on("error", () => res.destroy());
  upstream.end(body);
}
