import type { Socket } from "node:net";
import { endAndWaitClosed, writeFlushed } from "./sockets.js";
import type { FakeListing, RetrContext } from "./types.js";

/** "dir" against the session's working directory, without "." and ".." handling (tests use plain paths). */
export function resolvePath(cwd: string, path: string): string {
  if (path.startsWith("/")) return path;
  return cwd === "/" ? `/${path}` : `${cwd}/${path}`;
}

/** The path LIST or MLSD names: options ("-a", "-la") dropped; no path means the working directory. */
function listedPath(arg: string, cwd: string): string {
  const path = arg.replace(/^(?:-\S*\s*)+/, "");
  return path === "" ? cwd : resolvePath(cwd, path);
}

/**
 * LIST or MLSD. With `splitAtSpaces` LIST's argument is split at spaces and handed to "ls", as
 * BSD-derived servers (inetutils ftpd, OpenBSD ftpd) do: ls's complaints about words that name
 * nothing go into the data connection, and the reply is still 226.
 */
export async function sendListing(
  ctx: RetrContext,
  listings: Record<string, FakeListing>,
  cwd: string,
  splitAtSpaces: boolean,
  encoding: "utf8" | "latin1" = "utf8",
): Promise<void> {
  let lines: Iterable<string> | undefined;
  if (splitAtSpaces && ctx.verb === "LIST") {
    const words = ctx.arg.split(" ").filter((word) => word !== "" && !word.startsWith("-"));
    lines = lsOutput(words.length === 0 ? [cwd] : words.map((word) => resolvePath(cwd, word)), listings);
  } else {
    const path = listedPath(ctx.arg, cwd);
    if (!Object.hasOwn(listings, path)) return ctx.reply(`450 ${path}: No such file or directory`);
    const listing = listings[path] as FakeListing;
    lines = ctx.verb === "MLSD" ? listing.mlsd : listing.list;
    if (lines === undefined) return ctx.reply(`550 ${ctx.verb} not available for ${path}`);
  }
  let data: Socket;
  try {
    data = await ctx.dataSocket();
  } catch {
    return ctx.reply("425 Use EPSV or PASV first");
  }
  ctx.reply("150 Here comes the directory listing");
  for (const line of lines) {
    if (data.destroyed) return ctx.reply("426 Connection closed; transfer aborted.");
    await writeFlushed(data, Buffer.from(`${line}\r\n`, encoding));
  }
  if (data.destroyed) return ctx.reply("426 Connection closed; transfer aborted.");
  await endAndWaitClosed(data);
  ctx.reply("226 Directory send OK.");
}

/** What `ls -l a b` prints: complaints first, then each directory under a "name:" header when there are several. */
function lsOutput(paths: string[], listings: Record<string, FakeListing>): string[] {
  const found = paths.filter((path) => listings[path]?.list !== undefined);
  const out = paths
    .filter((path) => !found.includes(path))
    .map((path) => `ls: cannot access '${path}': No such file or directory`);
  for (const path of found) {
    if (paths.length > 1) out.push(`${path}:`);
    out.push(...(listings[path]?.list ?? []));
  }
  return out;
}

/** How replies are cut into TCP segments: every byte alone, or at fixed offsets of each reply. */
export const replySplits = {
  bytes(): (text: string) => string[] {
    return (text) => Array.from(text);
  },
  at(...offsets: number[]): (text: string) => string[] {
    return (text) => {
      const pieces: string[] = [];
      let from = 0;
      for (const offset of offsets) {
        if (offset <= from || offset >= text.length) continue;
        pieces.push(text.slice(from, offset));
        from = offset;
      }
      pieces.push(text.slice(from));
      return pieces;
    };
  },
};
