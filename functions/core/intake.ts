import { Writable } from "node:stream";

/**
 * A destination that says when it holds its own copy of a chunk: the writer may then reuse the
 * chunk's memory (the FTP source reads its data socket into a few buffers of its own). Until then,
 * it leaves the bytes unchanged. Any other stream may keep a chunk for as long as it likes.
 */
export interface CopyingDestination {
  writeThenRelease(chunk: Buffer, release: () => void): void;
}

export function copiesChunks(destination: Writable): destination is Writable & CopyingDestination {
  return typeof (destination as Partial<CopyingDestination>).writeThenRelease === "function";
}

/**
 * The stream the FTP download writes into. It counts every chunk and passes it on to the upload
 * body, with one deliberate gap: ending or destroying the intake never ends the body.
 *
 * That gap is the commit gate. basic-ftp ends its destination when the data connection closes,
 * whatever the final reply says (a `finally` in `Client.downloadTo`), and an upload that completes
 * when its body ends (lib-storage's does) would then store the object after a 426. Here the body
 * (PartUpload) commits nothing when it ends: only the core, after checking the reply and the byte
 * count, commits.
 */
export class Intake extends Writable implements CopyingDestination {
  private receivedBytes = 0;
  private readonly releases = new WeakMap<Uint8Array, () => void>();

  constructor(
    private readonly body: Writable,
    private readonly onBytes: (total: number) => void,
  ) {
    super();
  }

  get bytes(): number {
    return this.receivedBytes;
  }

  /** Resolves when every chunk written so far has been handed to the body. */
  async flush(): Promise<void> {
    if (this.writableFinished) return;
    if (this.destroyed) throw new Error("the intake was destroyed before the download finished");
    await new Promise<void>((resolve, reject) => {
      this.once("finish", resolve);
      this.once("error", reject);
      this.end();
    });
  }

  writeThenRelease(chunk: Buffer, release: () => void): void {
    this.releases.set(chunk, release);
    this.write(chunk);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.receivedBytes += chunk.length;
    this.onBytes(this.receivedBytes);
    // The body (PartUpload) calls back a write once it has copied the chunk into a part buffer.
    const release = this.releases.get(chunk);
    // The chunk is in the body's buffer once write() returns; waiting for "drain" only holds back the
    // next one, so backpressure from S3 reaches the FTP data socket (and, by TCP, the server).
    if (this.body.write(chunk, release && (() => release()))) {
      callback();
      return;
    }
    const onDrain = () => {
      this.body.off("close", onClose);
      callback();
    };
    const onClose = () => {
      this.body.off("drain", onDrain);
      callback(new Error("the upload stopped accepting data"));
    };
    this.body.once("drain", onDrain);
    this.body.once("close", onClose);
  }

  override _final(callback: (error?: Error | null) => void): void {
    callback(); // Deliberately does not end the body: see the class comment.
  }
}
