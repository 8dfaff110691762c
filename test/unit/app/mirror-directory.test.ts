import { describe, expect, it } from "vitest";
import {
  type MirrorDirectorySettings,
  type MirrorObserver,
  mirrorDirectory,
  resolveMirror,
} from "../../../functions/app/mirror-directory.js";
import { normaliseRemotePath } from "../../../functions/core/index.js";
import { sha256 } from "../../support/bytes.js";
import { MemoryS3 } from "../../support/memory-s3.js";
import { memorySource } from "../../support/memory-source.js";

const settings: MirrorDirectorySettings = {
  bucket: "b",
  remoteDir: normaliseRemotePath("/out"),
  keyPrefix: "in/",
  state: { root: "state/" },
  include: [],
  exclude: [],
  recursive: false,
  readiness: {},
  deleteExtraneous: false,
  deleteRules: { allowEmptySource: false, maxDelete: undefined },
  dryRun: false,
  limits: {},
  copy: {},
  concurrency: 2,
};

const files = { "/out/a.csv": Buffer.from("a,b\n1,2\n"), "/out/b.csv": Buffer.from("c,d\n3,4\n") };

/** An observer that keeps what the mirror said. */
function recordingObserver() {
  const said: string[] = [];
  const observer: MirrorObserver = {
    onFile: (file) => said.push(`${file.path} ${file.outcome}`),
    onDelete: (key) => said.push(`deleted ${key}`),
    onWarning: (message) => said.push(`warning ${message}`),
  };
  return { said, observer };
}

describe("resolveMirror", () => {
  it("places the manifest below the state root, by the prefix", () => {
    expect(resolveMirror(settings).stateObject).toEqual({ bucket: "b", key: "state/in/manifest.json" });
  });

  it("keeps an object the caller named", () => {
    const state = { object: { bucket: "other", key: "mirrors/in.json" } };
    expect(resolveMirror({ ...settings, state }).stateObject).toEqual(state.object);
  });

  it("refuses a manifest inside the prefix, where the mirror would overwrite or delete it", () => {
    const state = { object: { bucket: "b", key: "in/manifest.json" } };
    expect(() => resolveMirror({ ...settings, state })).toThrow(/in\/manifest\.json/);
  });
});

describe("mirrorDirectory", () => {
  it("copies each file to its key, says so through the observer, and records the manifest", async () => {
    // Arrange
    const s3 = new MemoryS3();
    const { said, observer } = recordingObserver();

    // Act
    const summary = await mirrorDirectory(resolveMirror(settings), {
      openSource: async () => memorySource(files),
      sink: s3,
      observer,
    });

    // Assert
    expect(summary).toMatchObject({ listed: 2, copied: 2, failed: [], enqueued: 0 });
    expect(sha256(s3.objects.get("in/a.csv")?.bytes ?? Buffer.alloc(0))).toBe(sha256(files["/out/a.csv"]));
    expect(said.sort()).toEqual(["/out/a.csv copied", "/out/b.csv copied"]);
    expect(s3.objects.has("state/in/manifest.json")).toBe(true);
  });

  it("hands the files beyond the inline budget to the fan-out instead of copying them", async () => {
    // Arrange
    const s3 = new MemoryS3();
    const queued: string[] = [];

    // Act
    const summary = await mirrorDirectory(resolveMirror(settings), {
      openSource: async () => memorySource(files),
      sink: s3,
      fanOut: {
        enqueue: async (file) => {
          queued.push(file.key);
        },
        inlineBudget: { files: 0, bytes: 0 },
        outOfTime: () => false,
      },
      observer: recordingObserver().observer,
    });

    // Assert
    expect(summary).toMatchObject({ copied: 0, enqueued: 2 });
    expect(queued.sort()).toEqual(["in/a.csv", "in/b.csv"]);
    expect(s3.objects.has("in/a.csv")).toBe(false);
  });
});
