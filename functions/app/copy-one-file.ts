import {
  type AfterCopy,
  abandonUpload,
  type CopyOptions,
  type CopyOutcome,
  type CopyRequest,
  copyFile,
  type FileSource,
  type ObjectSink,
  type ProgressSnapshot,
  type RemoteFileInfo,
  type SourceActionReport,
  settleSourceAction,
} from "../core/index.js";
import type { ResumeStore } from "./resume-store.js";

/** What a copy says while it runs: the Lambda logs it as JSON, the CLI prints it. */
export interface CopyObserver {
  onProgress?: (snapshot: ProgressSnapshot) => void;
  /** Problems that do not fail the copy: an abort S3 refused, a tag not written. */
  onWarning: (message: string, details: Record<string, unknown>) => void;
  /** The session is open: the copy's own clock starts (the CLI's stop signals listen from here). */
  onConnected?: () => void;
}

export interface CopyOneFileSettings {
  /** What to copy where, what to do with an existing object, and the point a resumed leg goes on from. */
  request: CopyRequest;
  /** How to copy: part size, queue, memory, progress interval, tagging, and the signal that cancels. */
  copy: Partial<Omit<CopyOptions, "suspendSignal" | "onProgress" | "onWarning">>;
  /**
   * Fires when the leg is to stop at a part boundary and go on later; heeded only where the store
   * can keep the point (see ResumeStore.canSave).
   */
  suspendSignal?: AbortSignal;
  /**
   * Called with SIZE and MDTM before a fresh leg that may stop starts: throwing refuses the copy
   * before anything is read (the CLI refuses a stop it could not go on from).
   */
  checkResumable?: (info: RemoteFileInfo) => void;
  /**
   * What becomes of the source file once the object is committed (checked at the boundary with
   * checkAfterCopy). Default "keep". See runsSourceAction for when it runs.
   */
  afterCopy?: AfterCopy;
}

export interface CopyPorts<Receipt> {
  /** Opens the FTP session; it is closed when the copy is done with it. */
  openSource: () => Promise<FileSource>;
  sink: ObjectSink;
  /** Where a stopped leg keeps its point; without it the leg never stops to go on later. */
  store?: ResumeStore<Receipt>;
  observer: CopyObserver;
}

export interface CopiedLeg<Receipt> {
  outcome: CopyOutcome;
  /** What the store gave for a suspended leg's point. */
  receipt?: Receipt;
  /** What was done to the source file (afterCopy), when anything was to be done. */
  afterCopy?: SourceActionReport;
}

/**
 * One leg of a copy: opens the session, copies through the commit gate, and settles what becomes of
 * the upload. A committed or unchanged file is the outcome; a leg that stopped on purpose has its
 * point saved, and its upload abandoned when the store refuses; a resumed leg that failed leaves its
 * point behind (forgotten, and the upload abandoned when it could not even connect).
 */
export async function copyOneFile<Receipt>(
  settings: CopyOneFileSettings,
  ports: CopyPorts<Receipt>,
): Promise<CopiedLeg<Receipt>> {
  const { request } = settings;
  const { store, observer } = ports;
  const resumeFrom = request.resumeFrom;
  // Asked first, whether or not this leg has a suspend signal: a resumed leg may still come back
  // suspended ("no-restart"), and its store must then be ready to save.
  const mayStop = store !== undefined && (await store.canSave()) && settings.suspendSignal !== undefined;
  const source = await ports.openSource().catch(async (error: unknown) => {
    // A leg that cannot even connect fails like any other: it leaves no upload open, unless the
    // store keeps its point for another try.
    if (resumeFrom !== undefined && store?.keepsPointWhenUnreachable !== true) {
      await abandonUpload(ports.sink, request.target, resumeFrom.uploadId, observer.onWarning);
    }
    throw error;
  });
  observer.onConnected?.();
  try {
    const { outcome, afterCopy } = await copyThrough(source, settings, ports, mayStop);
    if (resumeFrom !== undefined && keptUploadOf(outcome) !== resumeFrom.uploadId) {
      await store?.forget(resumeFrom);
    }
    if (outcome.status !== "suspended" || store === undefined) {
      return afterCopy === undefined ? { outcome } : { outcome, afterCopy };
    }
    const receipt = await store.save(outcome).catch(async (error: unknown) => {
      if (outcome.resumeAt !== null) {
        await abandonUpload(ports.sink, request.target, outcome.resumeAt.uploadId, observer.onWarning);
      }
      throw error;
    });
    return { outcome, receipt };
  } catch (error) {
    if (resumeFrom !== undefined) await store?.forget(resumeFrom);
    throw error;
  }
}

/**
 * The copy itself, on an open session that it closes, and the source action on the same session once
 * the object is committed.
 */
async function copyThrough<Receipt>(
  source: FileSource,
  settings: CopyOneFileSettings,
  ports: CopyPorts<Receipt>,
  mayStop: boolean,
): Promise<{ outcome: CopyOutcome; afterCopy?: SourceActionReport }> {
  const { observer } = ports;
  try {
    let request = settings.request;
    if (settings.checkResumable !== undefined && request.resumeFrom === undefined) {
      // A copy that may stop must be able to go on: that takes SIZE and MDTM. Ask now, not when it stops.
      const known = await source.stat(request.path);
      settings.checkResumable(known);
      request = { ...request, known };
    }
    const outcome = await copyFile(source, ports.sink, request, {
      ...settings.copy,
      ...(mayStop && settings.suspendSignal !== undefined ? { suspendSignal: settings.suspendSignal } : {}),
      ...(observer.onProgress === undefined ? {} : { onProgress: observer.onProgress }),
      onWarning: observer.onWarning,
    });
    const { afterCopy = "keep" } = settings;
    if (afterCopy === "keep" || !runsSourceAction(outcome)) return { outcome };
    const report = await settleSourceAction(source, request.path, afterCopy, new Date(), observer.onWarning);
    return { outcome, afterCopy: report };
  } finally {
    source.close();
  }
}

/**
 * The action runs once the object is committed and verified: a copied file (in a resumed copy, only
 * the leg that commits), or an unchanged one, whose object records this very version (source URL,
 * SIZE and MDTM): that is how a copy stopped between its commit and its action is finished by the
 * next try, which reads nothing. Never after a failure or a suspended leg.
 */
function runsSourceAction(outcome: CopyOutcome): boolean {
  return outcome.status === "copied" || outcome.status === "unchanged";
}

/** The upload a suspended leg left open for the next one, if any. */
function keptUploadOf(outcome: CopyOutcome): string | undefined {
  return outcome.status === "suspended" ? outcome.resumeAt?.uploadId : undefined;
}
