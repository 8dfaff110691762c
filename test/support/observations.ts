import { appendFileSync } from "node:fs";
import { expect } from "vitest";

/** What a user saw in one scenario: the raw material of docs/reliability.md. */
export interface Observation {
  scenario: string;
  exitCode: number;
  /** The last stderr line (the error), or the result's status on success. */
  said: string;
  objectStored: boolean;
  openUploads: number;
  s3Requests: string[];
}

/**
 * When FTP2S3_OBSERVATIONS names a file, each scenario appends what it observed there (one JSON line),
 * so the report is written from a real run (npm run report) rather than by hand. Otherwise a no-op.
 */
export function observe(observation: Omit<Observation, "scenario">): void {
  const file = process.env.FTP2S3_OBSERVATIONS;
  if (!file) return;
  const scenario = expect.getState().currentTestName ?? "(unnamed)";
  appendFileSync(file, `${JSON.stringify({ scenario, ...observation })}\n`);
}
