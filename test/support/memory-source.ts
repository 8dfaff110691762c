import type { Writable } from "node:stream";
import {
  type FileSource,
  type FtpReply,
  type RemoteEntry,
  type RemoteFileInfo,
  SizeMismatchError,
} from "../../functions/core/index.js";

export const modifiedAt = new Date("2026-01-02T03:04:05Z");

/**
 * A session serving files from memory, from the offset asked, in 64 KiB chunks with backpressure and
 * a turn of the event loop between chunks (so a suspend signal can land between parts).
 */
export function memorySource(
  files: Record<string, Buffer>,
  info: (path: string) => RemoteFileInfo = (path) => ({ size: files[path]?.length ?? null, modifiedAt }),
): FileSource & { closed: number; downloads: string[] } {
  return {
    closed: 0,
    downloads: [],
    urlOf: (path) => `ftp://h${path}`,
    async list(dir) {
      return Object.entries(files)
        .filter(([path]) => path.startsWith(`${dir}/`))
        .map(
          ([path, data]): RemoteEntry => ({
            name: path.slice(dir.length + 1),
            kind: "file",
            size: data.length,
            modifiedAt,
            modifiedRaw: null,
          }),
        );
    },
    stat: async (path) => info(path),
    async download(path: string, destination: Writable, signal: AbortSignal, startAt = 0): Promise<FtpReply> {
      this.downloads.push(path);
      await serve((files[path] ?? Buffer.alloc(0)).subarray(startAt), destination, signal);
      return { code: 226, message: "Transfer complete" };
    },
    /** The range's bytes; "cut" (426) unless it ends where the file does (226, as servers answer). */
    async downloadRange(path, destination, signal, start, end) {
      this.downloads.push(`${path} [${start}, ${end})`);
      const file = files[path] ?? Buffer.alloc(0);
      await serve(file.subarray(start, end), destination, signal);
      if (file.length < end) {
        const received = Math.max(0, file.length - start);
        throw new SizeMismatchError(`${path}: the data ended before byte ${end}`, end - start, received);
      }
      const reply = end === file.length ? "226 Transfer complete" : "426 Transfer aborted";
      return { cut: true, reply: { code: Number(reply.slice(0, 3)), message: reply.slice(4) } };
    },
    async deleteFile(path) {
      delete files[path];
    },
    async rename(from, to) {
      files[to] = files[from] as Buffer;
      delete files[from];
    },
    async makeDirectory() {},
    close() {
      this.closed += 1;
    },
  };
}

/** For fakes that only read: a source action on them is a test mistake, refused loudly. */
export const readOnlyChanges: Pick<FileSource, "deleteFile" | "rename" | "makeDirectory"> = {
  deleteFile: async () => {
    throw new Error("this fake source is read-only");
  },
  rename: async () => {
    throw new Error("this fake source is read-only");
  },
  makeDirectory: async () => {
    throw new Error("this fake source is read-only");
  },
};

/** Writes `bytes` in 64 KiB chunks with backpressure and a turn of the event loop between, then ends. */
async function serve(bytes: Buffer, destination: Writable, signal: AbortSignal): Promise<void> {
  try {
    for (let offset = 0; offset < bytes.length; offset += 64 * 1024) {
      if (signal.aborted) throw signal.reason;
      if (!destination.write(bytes.subarray(offset, offset + 64 * 1024))) {
        await new Promise((resolve) => destination.once("drain", resolve));
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    destination.end(); // like basic-ftp
  }
}
