import type { Writable } from "node:stream";
import type {
  DigestAlgorithm,
  FileSource,
  FtpReply,
  RangeReadEnd,
  RemoteEntry,
  RemoteFileInfo,
  RemoteFilePath,
  RemotePath,
  SourceDigest,
} from "../core/index.js";
import { abortReason, RestartRefusedError } from "../core/index.js";
import type { Scrubber } from "./secret-scrub.js";

/**
 * The one door every FTP session's results pass through on their way to the core: each method
 * obeys the session's signal (the deadline), and every reply text and error leaves with the password
 * scrubbed. The session itself is stopped by closing the client when the signal fires (basic-ftp has
 * no other way); here the rejection that follows is reported as what it is: the signal's reason.
 */
export class SessionBoundary implements FileSource {
  constructor(
    private readonly inner: FileSource,
    private readonly session: { signal: AbortSignal | undefined; scrubber: Scrubber; onClose: () => void },
  ) {}

  urlOf(path: string): string {
    return this.inner.urlOf(path);
  }

  list(dir: RemotePath): Promise<RemoteEntry[]> {
    return this.guard(() => this.inner.list(dir));
  }

  stat(path: RemoteFilePath): Promise<RemoteFileInfo> {
    return this.guard(() => this.inner.stat(path));
  }

  async download(
    path: RemoteFilePath,
    destination: Writable,
    signal: AbortSignal,
    startAt?: number,
  ): Promise<FtpReply> {
    const reply = await this.guard(() => this.inner.download(path, destination, signal, startAt));
    return { code: reply.code, message: this.session.scrubber.text(reply.message) };
  }

  async downloadRange(
    path: RemoteFilePath,
    destination: Writable,
    signal: AbortSignal,
    start: number,
    end: number,
  ): Promise<RangeReadEnd> {
    const read = this.inner.downloadRange?.bind(this.inner);
    if (read === undefined)
      throw new RestartRefusedError(`${this.urlOf(path)}: this session cannot read a range of a file`);
    const ended = await this.guard(() => read(path, destination, signal, start, end));
    const { reply } = ended;
    return {
      cut: ended.cut,
      reply: reply === null ? null : { code: reply.code, message: this.session.scrubber.text(reply.message) },
    };
  }

  announcesRestStream(): Promise<boolean> {
    return this.guard(async () => (await this.inner.announcesRestStream?.()) ?? false);
  }

  deleteFile(path: RemoteFilePath): Promise<void> {
    return this.guard(() => this.inner.deleteFile(path));
  }

  rename(from: RemoteFilePath, to: RemoteFilePath): Promise<void> {
    return this.guard(() => this.inner.rename(from, to));
  }

  makeDirectory(dir: RemotePath): Promise<void> {
    return this.guard(() => this.inner.makeDirectory(dir));
  }

  async digestAlgorithms(): Promise<DigestAlgorithm[]> {
    return this.guard(async () => (await this.inner.digestAlgorithms?.()) ?? []);
  }

  async digest(
    path: RemoteFilePath,
    algorithm: DigestAlgorithm,
  ): Promise<SourceDigest | { unavailable: string }> {
    const ask = this.inner.digest?.bind(this.inner);
    if (ask === undefined) return { unavailable: "this source asks for no digest" };
    const answer = await this.guard(() => ask(path, algorithm));
    return "value" in answer ? answer : { unavailable: this.session.scrubber.text(answer.unavailable) };
  }

  close(): void {
    this.session.onClose();
    this.inner.close();
  }

  private async guard<T>(operation: () => Promise<T>): Promise<T> {
    const { signal, scrubber } = this.session;
    if (signal?.aborted) throw abortReason(signal);
    try {
      return await operation();
    } catch (error) {
      throw scrubber.error(signal?.aborted ? abortReason(signal) : error);
    }
  }
}
