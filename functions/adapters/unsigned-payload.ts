import type { PutObjectCommand, UploadPartCommand } from "@aws-sdk/client-s3";

/**
 * Signs a body that carries its own CRC64NVME with `x-amz-content-sha256: UNSIGNED-PAYLOAD`. The SDK
 * otherwise hashes every byte of a Buffer body with SHA-256 for SigV4 (over HTTPS too: measured, a
 * part's payload hash is its SHA-256), a third pass over each byte besides our CRC and the sha256
 * tag's hash. S3 checks the CRC64NVME against the bytes it received and refuses them on a mismatch
 * (BadDigest), which is the integrity the payload hash gave; the headers, the CRC among them, stay
 * signed. This is what the SDK itself does for streamed bodies (STREAMING-UNSIGNED-PAYLOAD-TRAILER).
 * Over HTTPS only: TLS then guards the bytes against anyone between us and S3. Over plain HTTP (an
 * S3-compatible server on a private network) a CRC is no defence against someone who can change the
 * bytes (it is linear: they can make the altered bytes match it), so the payload stays signed.
 */
export function withUnsignedPayload<C extends UploadPartCommand | PutObjectCommand>(command: C): C {
  // The stack's add() is typed per step and per command; this middleware reads only the request.
  const stack = command.middlewareStack as unknown as {
    add(middleware: typeof unsignedPayload, options: { step: "build"; name: string }): void;
  };
  stack.add(unsignedPayload, { step: "build", name: "ftp2s3UnsignedChecksummedPayload" });
  return command;
}

type Handler = (args: { request: unknown }) => Promise<unknown>;

function unsignedPayload(next: Handler): Handler {
  return async (args) => {
    const request = args.request as { protocol?: string; headers?: Record<string, string> };
    if (request.protocol === "https:" && request.headers !== undefined) {
      request.headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD";
    }
    return next(args);
  };
}
