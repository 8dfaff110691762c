/**
 * A reader of request bodies as S3 receives them: plain, or `aws-chunked` (what the AWS SDK sends
 * with flexible checksums on a streamed body: `<hex size>[;chunk-signature=…]\r\n<bytes>\r\n` chunks, a
 * `0` chunk, then trailer lines such as `x-amz-checksum-crc64nvme:<base64>` and an empty line). It
 * counts the payload bytes, keeps them only up to `keepLimit` (the discard server stores small objects
 * only), and collects the trailers, so that the server reads every body to its end and can still answer
 * with the payload's size and the checksum the client sent.
 */
export class BodyReader {
  /** Payload bytes seen (after removing the chunk framing). */
  size = 0;
  /** The payload, while it stays within keepLimit; undefined once it grew past it. */
  kept: Buffer[] | undefined = [];
  readonly trailers: Record<string, string> = {};
  private state: "header" | "data" | "data-end" | "trailer" | "done";
  private line = "";
  private remaining = 0;

  constructor(
    private readonly chunked: boolean,
    private readonly keepLimit: number,
  ) {
    this.state = chunked ? "header" : "data";
  }

  write(buffer: Buffer): void {
    if (!this.chunked) {
      this.take(buffer);
      return;
    }
    let at = 0;
    while (at < buffer.length && this.state !== "done") {
      if (this.state === "data") {
        const n = Math.min(this.remaining, buffer.length - at);
        this.take(buffer.subarray(at, at + n));
        at += n;
        this.remaining -= n;
        if (this.remaining === 0) this.state = "data-end";
        continue;
      }
      // Header, CRLF after data and trailers are short lines: read them a byte at a time.
      const char = String.fromCharCode(buffer[at]!);
      at += 1;
      if (char !== "\n") {
        if (char !== "\r") this.line += char;
        continue;
      }
      const line = this.line;
      this.line = "";
      if (this.state === "data-end") this.state = "header";
      else if (this.state === "header") this.startChunk(line);
      else this.trailer(line);
    }
  }

  private startChunk(line: string): void {
    const size = Number.parseInt(line.split(";")[0]!, 16);
    if (!Number.isFinite(size)) throw new Error(`aws-chunked: bad chunk header ${JSON.stringify(line)}`);
    this.remaining = size;
    this.state = size === 0 ? "trailer" : "data";
  }

  private trailer(line: string): void {
    if (line === "") {
      this.state = "done";
      return;
    }
    const colon = line.indexOf(":");
    if (colon > 0) this.trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }

  private take(bytes: Buffer): void {
    this.size += bytes.length;
    if (this.kept === undefined) return;
    if (this.size > this.keepLimit) this.kept = undefined;
    else this.kept.push(Buffer.from(bytes));
  }

  /** The payload, when it was kept. */
  payload(): Buffer | undefined {
    return this.kept === undefined ? undefined : Buffer.concat(this.kept);
  }
}
