import { Readable } from "node:stream";
import type { S3Client } from "@aws-sdk/client-s3";

/** What one write hands TLS: a few TLS records (16 KiB each). */
export const TLS_BODY_PIECE = 256 * 1024;

/**
 * Hands a body to TLS in pieces of TLS_BODY_PIECE instead of at once. Node's TLS socket encrypts all
 * of a write before sending any of it, into buffers of its own the size of the write: an 8 MiB part
 * was copied whole, encrypted, into 8 MiB of fresh memory (page faults, and V8 counts it as external
 * memory, which starts full garbage collections), four times over with four parts in flight. In
 * pieces, with backpressure between them, those buffers stay the size of a piece.
 *
 * The pieces are made per attempt, after signing and checksums have read the whole body: a retry
 * sends the body again from its first byte, and what was signed is what is sent.
 */
export function sendBodiesInPieces(client: S3Client): void {
  // The stack's add() is typed per step; this middleware reads and replaces only the request.
  const stack = client.middlewareStack as unknown as {
    add(middleware: typeof inPieces, options: { step: "deserialize"; name: string; priority: "low" }): void;
  };
  stack.add(inPieces, { step: "deserialize", name: "ftp2s3TlsBodyInPieces", priority: "low" });
}

type Handler = (args: { request: unknown }) => Promise<unknown>;

function inPieces(next: Handler): Handler {
  return async (args) => {
    const request = args.request as { protocol?: string; body?: unknown };
    const { body } = request;
    if (request.protocol !== "https:" || !(body instanceof Uint8Array) || body.length <= TLS_BODY_PIECE) {
      return next(args);
    }
    // A copy of the request, not the request: the retry middleware sends the same one again.
    return next({ ...args, request: { ...request, body: piecesOf(body) } });
  };
}

/** The bytes as a stream of views into them, one piece per read: nothing is copied. */
function piecesOf(bytes: Uint8Array): Readable {
  let offset = 0;
  return new Readable({
    highWaterMark: TLS_BODY_PIECE,
    read() {
      if (offset >= bytes.length) {
        this.push(null);
        return;
      }
      const end = Math.min(offset + TLS_BODY_PIECE, bytes.length);
      this.push(Buffer.from(bytes.buffer, bytes.byteOffset + offset, end - offset));
      offset = end;
    },
  });
}
