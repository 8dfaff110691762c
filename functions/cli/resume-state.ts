import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ResumeStore } from "../app/resume-store.js";
import { InvalidInputError, RestartRefusedError, type ResumePoint } from "../core/index.js";

/**
 * What `ftp2s3 copy --resume <upload-id>` needs besides the upload id: the source as it was seen, the
 * offset, and the SHA-256 state. S3 keeps the parts; this small file keeps the rest, one per upload,
 * in the user's state directory. It is written when a copy suspends and removed when it ends.
 */
export interface ResumeState {
  version: 1;
  source: string;
  target: string;
  resumeAt: ResumePoint;
  /**
   * Where and how the first leg reached S3 and the server, so that `--resume <id>` with the URLs alone
   * goes to the same endpoint. Absent in files written before it was kept.
   */
  settings?: ResumeSettings;
}

/** The options a resumed copy takes from the state file when its command line does not give them. */
export interface ResumeSettings {
  s3Endpoint?: string;
  region?: string;
  checksums?: "when-supported" | "when-required";
  /** Absolute paths. */
  caFile?: string;
  passwordFile?: string;
}

/** Each stored setting and the option that gives it on the command line. */
export const resumeSettingOptions = {
  s3Endpoint: "--s3-endpoint",
  region: "--region",
  checksums: "--checksums",
  caFile: "--ca-file",
  passwordFile: "--password-file",
} as const satisfies Record<keyof ResumeSettings, string>;

function fileOf(directory: string, uploadId: string): string {
  // Upload ids are opaque: keep the file name to characters every file system takes.
  return join(directory, `${uploadId.replace(/[^A-Za-z0-9._-]/g, "_")}.json`);
}

export async function saveState(directory: string, state: ResumeState): Promise<string> {
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const file = fileOf(directory, state.resumeAt.uploadId);
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await rename(temporary, file); // never a half-written state
  return file;
}

/** The saved state of that upload; a clear error when there is none or it does not fit the command. */
export async function loadState(
  directory: string,
  uploadId: string,
  expected: { source: string; target: string },
): Promise<ResumeState> {
  const file = fileOf(directory, uploadId);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new InvalidInputError(
      `no saved state for upload ${uploadId} in ${directory} (it is written when a copy with --resumable or --stop-after suspends)`,
    );
  }
  const state = await parseState(text, file);
  if (state.source !== expected.source || state.target !== expected.target) {
    throw new InvalidInputError(
      `upload ${uploadId} belongs to a copy of ${state.source} to ${state.target}, not of ${expected.source} to ${expected.target}`,
    );
  }
  return state;
}

export async function removeState(directory: string, uploadId: string): Promise<void> {
  await rm(fileOf(directory, uploadId), { force: true });
}

/**
 * The CLI's ResumeStore: a stopped copy's point in the state file `--resume <upload-id>` reads, with
 * the source, target and settings it belongs to. A copy that cannot connect keeps it, for the user to
 * try again; one that ends removes it. Saving gives the file's path, or undefined when nothing was
 * uploaded yet (nothing to go on from).
 */
export function stateFileStore(
  directory: string,
  copy: { source: string; target: string; settings: ResumeSettings },
): ResumeStore<string | undefined> {
  return {
    keepsPointWhenUnreachable: true,
    canSave: async () => true,
    async save(outcome) {
      if (outcome.reason === "no-restart") {
        throw new RestartRefusedError(
          `${copy.source}: the server refused to go on from where the copy stopped (REST); the upload was aborted: run the copy again from the start`,
        );
      }
      if (outcome.resumeAt === null) return undefined;
      const { source, target, settings } = copy;
      return saveState(directory, { version: 1, source, target, resumeAt: outcome.resumeAt, settings });
    },
    forget: (point) => removeState(directory, point.uploadId),
  };
}

/**
 * The envelope is checked by hand and the resume point by its one schema (functions/contracts),
 * loaded only here: the command would otherwise load zod (about 100 ms by the bench) on every start.
 */
async function parseState(text: string, file: string): Promise<ResumeState> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new InvalidInputError(`the state file ${file} is not JSON`);
  }
  const state = json as Partial<ResumeState> | null;
  const damaged = (what: string) => new InvalidInputError(`the state file ${file} is damaged: ${what}`);
  if (state?.version !== 1) throw damaged("version is not 1");
  if (typeof state.source !== "string" || typeof state.target !== "string")
    throw damaged("no source or target");
  if (typeof state.resumeAt !== "object" || state.resumeAt === null) throw damaged("no resumeAt");
  const { resumePointSchema } = await import("../contracts/resume-point.js");
  const point = resumePointSchema.safeParse(state.resumeAt);
  if (!point.success) {
    const [issue] = point.error.issues;
    const field = `resumeAt.${issue?.path.join(".")}`;
    throw damaged(
      issue?.code === "invalid_type" ? `${field} is not a ${issue.expected}` : `${field}: ${issue?.message}`,
    );
  }
  const settings = state.settings as Record<string, unknown> | undefined;
  if (settings !== undefined) {
    if (typeof settings !== "object" || settings === null) throw damaged("settings is not an object");
    for (const field of Object.keys(resumeSettingOptions)) {
      if (settings[field] !== undefined && typeof settings[field] !== "string")
        throw damaged(`settings.${field} is not a string`);
    }
    if (![undefined, "when-supported", "when-required"].includes(settings.checksums as string))
      throw damaged("settings.checksums is neither when-supported nor when-required");
  }
  return { ...(state as ResumeState), resumeAt: point.data };
}
