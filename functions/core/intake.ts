import { Writable } from "node:stream";

/**
 * The stream the FTP download writes into. It counts every chunk and passes it on to the upload
 * body, with one deliberate gap: ending or destroying the intake never ends the body.
 *
 * That gap is the commit gate. basic-ftp ends its destination when the data connection closes,
 * whatever the final reply says (a `finally` in `Client.downloadTo`), and an upload that completes
 * when its body ends (lib-storage's does) would then store the object after a 426. Here the body
 * (PartUpload) commits nothing when it ends: only the core, after checking the reply and the byte
 * count, commits.
 *
 * A write is called back once the body has called back its own: PartUpload has then copied the chunk
 * into a part buffer, so the writer may reuse the chunk's memory (the FTP source reads its data socket
 * into a few buffers of its own: see `copiesChunks`).
 */
export class Intake extends Writable {
  readonly copiesChunks = true;
  private receivedBytes = 0;

  constructor(
    /** Calls back a write once it holds its own copy of the bytes (PartUpload does). */
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

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.receivedBytes += chunk.length;
    this.onBytes(this.receivedBytes);
    // The next chunk waits until the body has copied this one, so backpressure from S3 reaches the FTP
    // data socket (and, by TCP, the server).
    this.body.write(chunk, (error) => {
      callback(error ? new Error("the upload stopped accepting data", { cause: error }) : null);
    });
  }

  override _final(callback: (error?: Error | null) => void): void {
    callback(); // Deliberately does not end the body: see the class comment.
  }
}

/**
 * Whether `destination` calls back each write only once it holds its own copy of the chunk (an
 * Intake does): a source may then read into buffers it reuses. Any other stream may keep the chunk.
 */
export function copiesChunks(destination: Writable): boolean {
  return (destination as Partial<Intake>).copiesChunks === true;
}
