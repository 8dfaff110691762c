import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { FilePacer, pacedSource } from "../../../functions/app/file-pacer.js";
import { BudgetedSessions, InProcessSessionBudget } from "../../../functions/app/session-budget.js";
import type { FileSource, RemoteFilePath } from "../../../functions/core/index.js";
import { readOnlyChanges } from "../../support/memory-source.js";

// The pacer and the session budget wrap a session: what they do not change must reach the server,
// or a feature behind them (the server's digest, afterCopy's DELE) is silently off.
function recordingSession(calls: string[]): FileSource {
  return {
    ...readOnlyChanges,
    urlOf: (p) => `ftp://h${p}`,
    list: async () => [],
    stat: async () => ({ size: null, modifiedAt: null }),
    download: async () => ({ code: 226, message: "ok" }),
    downloadRange: async (path, _destination, _signal, start, end) => {
      calls.push(`RANGE ${path} ${start}-${end}`);
      return { cut: true, reply: { code: 426, message: "cut" } };
    },
    deleteFile: async (path) => {
      calls.push(`DELE ${path}`);
    },
    digestAlgorithms: async () => ["sha-256"],
    digest: async (path, algorithm) => {
      calls.push(`HASH ${path}`);
      return { algorithm, value: "ab" };
    },
    close: () => calls.push("QUIT"),
  };
}

describe("a wrapped session forwards what it does not change", () => {
  const path = "/in/a.csv" as RemoteFilePath;

  it("paced: the digest commands and the source actions reach the session", async () => {
    const calls: string[] = [];
    const paced = pacedSource(recordingSession(calls), new FilePacer(0));

    expect(await paced.digestAlgorithms?.()).toEqual(["sha-256"]);
    expect(await paced.digest?.(path, "sha-256")).toEqual({ algorithm: "sha-256", value: "ab" });
    const ranged = await paced.downloadRange?.(path, new PassThrough(), new AbortController().signal, 5, 9);
    await paced.deleteFile(path);
    paced.close();

    expect(ranged).toEqual({ cut: true, reply: { code: 426, message: "cut" } });
    expect(calls).toEqual(["HASH /in/a.csv", "RANGE /in/a.csv 5-9", "DELE /in/a.csv", "QUIT"]);
  });

  it("budgeted: the same, and closing gives the slot back", async () => {
    const calls: string[] = [];
    const sessions = new BudgetedSessions(new InProcessSessionBudget(1), "partner (maxSessions 1)");
    const budgeted = await sessions.open(async () => recordingSession(calls), undefined);

    expect(await budgeted.digest?.(path, "sha-256")).toEqual({ algorithm: "sha-256", value: "ab" });
    await budgeted.downloadRange?.(path, new PassThrough(), new AbortController().signal, 0, 4);
    await budgeted.deleteFile(path);
    budgeted.close();

    expect(calls).toEqual(["HASH /in/a.csv", "RANGE /in/a.csv 0-4", "DELE /in/a.csv", "QUIT"]);
    // The one slot is free again: a second session opens at once.
    (await sessions.open(async () => recordingSession([]), undefined)).close();
  });
});
