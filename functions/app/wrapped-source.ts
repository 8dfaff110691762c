import type { FileSource } from "../core/index.js";

/**
 * A session that forwards every FileSource method to `source` except those `overrides` replace. The
 * one place that lists them: a wrapper that listed them itself would drop a method added later
 * (the digest commands, the source actions) and silently switch that feature off behind it.
 */
export function wrapSource(source: FileSource, overrides: Partial<FileSource> = {}): FileSource {
  return {
    urlOf: (path) => source.urlOf(path),
    list: (dir) => source.list(dir),
    stat: (path) => source.stat(path),
    download: (path, destination, signal, startAt) => source.download(path, destination, signal, startAt),
    downloadRange: source.downloadRange?.bind(source),
    announcesRestStream: source.announcesRestStream?.bind(source),
    deleteFile: (path) => source.deleteFile(path),
    rename: (from, to) => source.rename(from, to),
    makeDirectory: (dir) => source.makeDirectory(dir),
    digestAlgorithms: source.digestAlgorithms?.bind(source),
    digest: source.digest?.bind(source),
    close: () => source.close(),
    ...overrides,
  };
}
