import { posix } from "node:path";
import { MEDIA_TYPE_TABLE } from "./media-type-table.js";

let typesByExtension: Map<string, string> | undefined;

/**
 * The media type of a file name's extension, as mime-types' `lookup` gives it (its table, generated
 * into media-type-table.ts), or undefined when the extension is unknown or there is none.
 */
export function mediaTypeOf(name: string): string | undefined {
  // "x." in front, as mime-types does: a name that is all extension (".csv") still has one.
  const extension = posix.extname(`x.${name}`).toLowerCase().slice(1);
  return extension === "" ? undefined : extensionTable().get(extension);
}

/** Parsed on first use: a command that never asks pays nothing beyond the text. */
function extensionTable(): Map<string, string> {
  if (typesByExtension === undefined) {
    typesByExtension = new Map();
    for (const line of MEDIA_TYPE_TABLE.split("\n")) {
      const [type, ...extensions] = line.split(" ");
      for (const extension of extensions) typesByExtension.set(extension, type!);
    }
  }
  return typesByExtension;
}
