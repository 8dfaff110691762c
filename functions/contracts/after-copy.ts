import { z } from "zod";

/**
 * What becomes of the source file once its object is committed and verified: "keep" (the default),
 * "delete" (DELE), or { "moveTo": "/archive/{yyyy}/{MM}/" } (RNFR/RNTO into that directory, made when
 * missing; {yyyy} {MM} {dd} are the commit date in UTC, the file keeps its name). The target must lie
 * inside the connection's roots (checked where the job or request enters: checkAfterCopy). The FTP
 * account needs write rights only for a job or request that sets it.
 */
export const afterCopySchema = z.union([
  z.literal("keep"),
  z.literal("delete"),
  z.object({ moveTo: z.string().min(1).max(4096) }).strict(),
]);
