import { describe, expect, it } from "vitest";
import { FilePacer } from "../../../functions/app/file-pacer.js";
import { BudgetedSessions, InProcessSessionBudget } from "../../../functions/app/session-budget.js";
import type { FileSource } from "../../../functions/core/index.js";
import { readOnlyChanges } from "../../support/memory-source.js";

/** A session that only counts whether it was closed. */
function session(): FileSource & { closed: number } {
  return {
    ...readOnlyChanges,
    closed: 0,
    urlOf: (p) => `ftp://h${p}`,
    list: async () => [],
    stat: async () => ({ size: null, modifiedAt: null }),
    download: async () => ({ code: 226, message: "ok" }),
    close() {
      this.closed += 1;
    },
  };
}

describe("BudgetedSessions", () => {
  it("opens up to the budget, refuses one more with FTP_BUSY after its wait, and frees a slot on close", async () => {
    // Arrange
    const sessions = new BudgetedSessions(new InProcessSessionBudget(2), 'connection "p" (maxSessions 2)', {
      waitMs: 40,
      pollMs: 10,
    });
    const connect = async () => session();

    // Act
    const first = await sessions.open(connect, undefined);
    await sessions.open(connect, undefined);
    const refused = sessions.open(connect, undefined);

    // Assert
    await expect(refused).rejects.toMatchObject({
      code: "FTP_BUSY",
      message: 'connection "p" (maxSessions 2): every session slot stayed taken for 0 s',
    });
    first.close();
    first.close(); // a second close gives back nothing more
    await sessions.settled();
    await expect(sessions.open(connect, undefined)).resolves.toBeDefined();
    await expect(sessions.open(connect, undefined)).rejects.toMatchObject({ code: "FTP_BUSY" });
  });

  it("takes a slot that comes free while it waits, and gives its slot back when the login fails", async () => {
    const sessions = new BudgetedSessions(new InProcessSessionBudget(1), "c", { waitMs: 1000, pollMs: 5 });
    const held = await sessions.open(async () => session(), undefined);

    const waiting = sessions.open(async () => {
      throw new Error("530 Login incorrect");
    }, undefined);
    setTimeout(() => held.close(), 20);

    await expect(waiting).rejects.toThrow("530 Login incorrect");
    await sessions.settled();
    await expect(sessions.open(async () => session(), undefined)).resolves.toBeDefined();
  });
});

describe("FilePacer", () => {
  it("hands out turns intervalMs apart, in the order asked, and no wait for a file after a long pause", async () => {
    // Arrange
    const pacer = new FilePacer(50);
    const signal = new AbortController().signal;
    const started: number[] = [];
    const at = Date.now();

    // Act
    await Promise.all([0, 1, 2].map((n) => pacer.turn(signal).then(() => (started[n] = Date.now() - at))));
    await new Promise((resolve) => setTimeout(resolve, 80));
    const before = Date.now();
    await pacer.turn(signal);

    // Assert
    expect(started[1] as number).toBeGreaterThanOrEqual(49);
    expect(started[2] as number).toBeGreaterThanOrEqual(99);
    expect(Date.now() - before).toBeLessThan(20);
  });

  it("stops waiting with the signal's reason", async () => {
    const pacer = new FilePacer(10_000);
    const stop = new AbortController();
    await pacer.turn(stop.signal);

    const waiting = pacer.turn(stop.signal);
    stop.abort(new Error("deadline"));

    await expect(waiting).rejects.toThrow("deadline");
  });
});
