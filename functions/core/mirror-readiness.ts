import { posix } from "node:path";
import picomatch from "picomatch";
import { abortReason, InvalidInputError } from "./errors.js";
import type { PlannedFile } from "./mirror-plan.js";
import type { FileSource } from "./ports.js";

/**
 * When a listed file is ready to be taken: a partner may still be writing it, and an FTP server
 * answers `226` for the bytes written so far. Each rule is off when left out; a file that a rule
 * holds back "waits": it is not copied this run, not a failure, and its object (if any) stays.
 */
export interface ReadinessRules {
  /**
   * Milliseconds since the file's modification time; a time in the future (clock skew) counts as young.
   * Where the server gives no time, since this size was first seen (the manifest keeps the sighting).
   */
  minAgeMs?: number;
  /** Milliseconds over which size and modification time must stay the same, across runs (the manifest). */
  stableForMs?: number;
  /** The done-marker pattern (see parseDoneMarker). */
  doneMarker?: string;
}

/**
 * A done marker, written one of two ways:
 * - with `{name}`, a marker per file: `{name}.done` is the marker of `data.csv` when `data.csv.done`
 *   is listed in the same directory;
 * - without it, a glob on names (`*.ok`, `_SUCCESS`): a marker per directory: every file of a
 *   directory is taken once a name matching it is listed there.
 * Either way a name that has the marker's form is a marker: never copied, never waiting.
 */
export interface DoneMarker {
  isMarker(name: string): boolean;
  /** The marker's name for a file (per file), or undefined when any marker in the directory will do. */
  markerOf(name: string): string | undefined;
}

const NAME = "{name}";

/** Why a done-marker pattern is unusable, or undefined when it is fine. */
export function doneMarkerProblem(pattern: string): string | undefined {
  if (pattern === "") return "the done marker is empty";
  if (pattern.includes("/"))
    return `the done marker ${JSON.stringify(pattern)} contains "/" (it names a file of the same directory)`;
  if (pattern.includes(NAME) && pattern.replace(NAME, "") === "")
    return `the done marker ${JSON.stringify(pattern)} would make every file its own marker`;
  if (pattern.split(NAME).length > 2)
    return `the done marker ${JSON.stringify(pattern)} has ${NAME} more than once`;
  return undefined;
}

export function parseDoneMarker(pattern: string): DoneMarker {
  const problem = doneMarkerProblem(pattern);
  if (problem !== undefined) throw new InvalidInputError(problem);
  if (!pattern.includes(NAME)) {
    const matches = picomatch(pattern, { dot: true });
    return { isMarker: (name) => matches(name), markerOf: () => undefined };
  }
  const [before, after] = pattern.split(NAME) as [string, string];
  return {
    isMarker: (name) =>
      name.length > before.length + after.length && name.startsWith(before) && name.endsWith(after),
    markerOf: (name) => before + name + after,
  };
}

/** What a run saw of a file it did not take, kept in the manifest for stableFor. */
export interface Observation {
  size: number | null;
  version: string | null;
  /** When this size and version were first seen (ISO). */
  since: string;
}

export interface Waiting {
  path: string;
  reason: string;
}

export interface Readiness {
  ready: PlannedFile[];
  waiting: Waiting[];
  /** The observations to keep for the next run: only the files waiting now, so it stays bounded. */
  observed: Record<string, Observation>;
}

/**
 * Sorts candidate files into those taken now and those that wait, by the rules, the markers listed
 * beside them (relative paths), the clock and what the previous run observed.
 */
export function sortByReadiness(
  files: PlannedFile[],
  markers: ReadonlySet<string>,
  rules: ReadinessRules,
  now: number,
  previous: Record<string, Observation>,
): Readiness {
  const missingMarker =
    rules.doneMarker === undefined ? () => undefined : markerCheck(rules.doneMarker, markers);
  const result: Readiness = { ready: [], waiting: [], observed: {} };
  for (const file of files) {
    const seen = observe(file, previous[file.relativePath], now);
    const reason =
      missingMarker(file.relativePath) ??
      tooYoung(file, seen, rules.minAgeMs, now) ??
      notYetStable(seen, rules.stableForMs, now);
    if (reason === undefined) {
      result.ready.push(file);
      continue;
    }
    result.waiting.push({ path: file.path, reason });
    const agedBySighting = Boolean(rules.minAgeMs) && file.modifiedAt === null;
    if (rules.stableForMs !== undefined || agedBySighting) result.observed[file.relativePath] = seen;
  }
  return result;
}

/** Why a file's marker is missing, or undefined when it is listed; `markers` are relative paths. */
function markerCheck(
  pattern: string,
  markers: ReadonlySet<string>,
): (relativePath: string) => string | undefined {
  const marker = parseDoneMarker(pattern);
  const markedDirs = new Set([...markers].map((m) => posix.dirname(m)));
  return (relativePath) => {
    const dir = posix.dirname(relativePath);
    const own = marker.markerOf(posix.basename(relativePath));
    if (own === undefined) {
      return markedDirs.has(dir)
        ? undefined
        : `no done marker: nothing matching ${pattern} is listed in its directory`;
    }
    const listed = markers.has(dir === "." ? own : `${dir}/${own}`);
    return listed ? undefined : `no done marker: ${own} is not listed`;
  };
}

/**
 * Why a file is younger than minAge. Without a modification time its age counts from the first run
 * that saw it at this size: waiting for a time the server never gives would hold it back forever. A
 * file without size either cannot be seen to grow, so it is not aged that way.
 */
function tooYoung(
  file: PlannedFile,
  seen: Observation,
  minAgeMs: number | undefined,
  now: number,
): string | undefined {
  if (minAgeMs === undefined || minAgeMs === 0) return undefined;
  if (file.modifiedAt === null) {
    if (file.size === null)
      return "the server gives neither modification time nor size, so its age is unknown (minAge)";
    const sighted = now - Date.parse(seen.since);
    if (sighted < minAgeMs)
      return `the server gives no modification time; first seen at this size ${Math.max(0, Math.floor(sighted / 1000))} s ago, less than minAge`;
    return undefined;
  }
  const age = now - file.modifiedAt.getTime();
  // A time ahead of our clock is skew or a writer's clock: young, never old.
  if (age < minAgeMs) return `modified ${Math.max(0, Math.floor(age / 1000))} s ago, younger than minAge`;
  return undefined;
}

/** The observation of a file now: the previous one when size and version are the same, else a new one. */
function observe(file: PlannedFile, before: Observation | undefined, now: number): Observation {
  if (before !== undefined && before.size === file.size && before.version === file.version) return before;
  return { size: file.size, version: file.version, since: new Date(now).toISOString() };
}

function notYetStable(seen: Observation, stableForMs: number | undefined, now: number): string | undefined {
  if (stableForMs === undefined || stableForMs === 0) return undefined;
  if (seen.version === null && seen.size === null)
    return "the listing gives neither size nor time to compare (stableFor)";
  const steady = now - Date.parse(seen.since);
  if (steady < stableForMs)
    return `size and time unchanged for ${Math.max(0, Math.floor(steady / 1000))} s, less than stableFor`;
  return undefined;
}

/**
 * Sorts the candidates (see sortByReadiness). A LIST gives no parsed modification time: for minAge,
 * the candidates without one are asked for it (MDTM, one request a file, only for files the manifest
 * could not skip). A server that cannot answer leaves the time unknown: the age then counts from
 * the first sighting (see tooYoung).
 */
export async function holdBack(
  source: FileSource,
  candidates: PlannedFile[],
  markers: ReadonlySet<string>,
  rules: ReadinessRules,
  now: number,
  previous: Record<string, Observation>,
  signal?: AbortSignal,
): Promise<Readiness> {
  const files = rules.minAgeMs ? await withModificationTimes(source, candidates, signal) : candidates;
  return sortByReadiness(files, markers, rules, now, previous);
}

async function withModificationTimes(
  source: FileSource,
  files: PlannedFile[],
  signal: AbortSignal | undefined,
): Promise<PlannedFile[]> {
  const completed: PlannedFile[] = [];
  for (const file of files) {
    if (file.modifiedAt !== null) {
      completed.push(file);
      continue;
    }
    if (signal?.aborted) throw abortReason(signal);
    const info = await source.stat(file.path).catch(() => ({ modifiedAt: null }));
    completed.push({ ...file, modifiedAt: info.modifiedAt });
  }
  return completed;
}
