import { describe, expect, it } from "vitest";
import { readinessOf } from "../../functions/app/mirror-directory.js";
import { mirrorJobSchema, scheduledMirrorSchema, scheduleInputOf } from "../../functions/contracts/index.js";

const job = { connection: "partner-ftp", remoteDir: "/out", prefix: "in/" };

describe("the mirror job's readiness fields", () => {
  it("are optional seconds and a marker pattern, converted once to what the core counts", () => {
    // Arrange / Act
    const parsed = mirrorJobSchema.parse({ ...job, minAge: 300, stableFor: 60, doneMarker: "{name}.done" });
    // Assert
    expect(readinessOf(parsed)).toEqual({
      minAgeMs: 300_000,
      stableForMs: 60_000,
      doneMarker: "{name}.done",
    });
    expect(readinessOf(mirrorJobSchema.parse(job))).toEqual({});
  });

  it("refuses a negative age and a marker outside the file's directory, with why", () => {
    expect(mirrorJobSchema.safeParse({ ...job, minAge: -1 }).success).toBe(false);
    const marker = mirrorJobSchema.safeParse({ ...job, doneMarker: "../{name}.done" });
    expect(marker.success).toBe(false);
    expect(marker.error?.issues[0]?.message).toMatch(/contains "\/"/);
  });

  it("travel from the stack's mirrors[] entry to the schedule's input", () => {
    const entry = scheduledMirrorSchema.parse({
      ...job,
      name: "partner",
      schedule: "rate(1 hour)",
      stableFor: 120,
      doneMarker: "_SUCCESS",
    });
    expect(scheduleInputOf(entry).mirror).toMatchObject({ stableFor: 120, doneMarker: "_SUCCESS" });
  });
});
