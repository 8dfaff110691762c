import type { MirrorOptions } from "./mirror.js";
import type { PlannedFile } from "./mirror-plan.js";

/**
 * What one invocation may still copy itself (files and bytes), when it has a queue to hand the rest
 * to. A file bigger than the whole budget is still taken when nothing else is: it must go somewhere.
 */
export class InlineBudget {
  private copies = 0;
  private bytes = 0;

  constructor(private readonly limit: { files: number; bytes: number } | undefined) {}

  /** Charges one copy of `size` bytes and says true, or says false when it does not fit. */
  take(size: number): boolean {
    if (this.limit === undefined) return true;
    if (this.copies >= this.limit.files) return false;
    if (this.bytes + size > this.limit.bytes && this.copies > 0) return false;
    this.copies += 1;
    this.bytes += size;
    return true;
  }
}

/**
 * The copies this invocation makes itself, and those beyond the budget, for the queue. A check (a
 * file listed at its object's size) is made here at no charge; it is charged when it turns out
 * changed (see copyAll), and queued then if the budget is spent.
 */
export function splitByBudget(
  files: PlannedFile[],
  checks: Set<PlannedFile>,
  budget: InlineBudget,
): { inline: PlannedFile[]; later: PlannedFile[] } {
  const inline: PlannedFile[] = [];
  const later: PlannedFile[] = [];
  for (const file of files) {
    if (checks.has(file) || budget.take(file.size ?? 0)) inline.push(file);
    else later.push(file);
  }
  return { inline, later };
}

/** Thrown by a check found changed past the budget: the file goes to the queue, nothing read. */
export class OverBudget extends Error {}

/** A mirror's budget, or none when it has no queue to hand work to. */
export function inlineBudgetOf(options: MirrorOptions): InlineBudget {
  return new InlineBudget(options.enqueue === undefined ? undefined : options.inlineBudget);
}
