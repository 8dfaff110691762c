import { InvalidArgumentError } from "commander";
import type { AfterCopyAsWritten } from "../core/index.js";

/** --after-copy as copy and mirror declare it: help text and parser in one place. */
export const AFTER_COPY_FLAG = "--after-copy <action>";
export const AFTER_COPY_HELP =
  'once the object is committed: "keep" the source file, "delete" it, or "move:<dir>" it into that directory ({yyyy} {MM} {dd}: the date in UTC; made when missing)';

/** "keep", "delete" or "move:/archive/{yyyy}/": the move target is checked later, with checkAfterCopy. */
export function afterCopyArgument(value: string): AfterCopyAsWritten {
  if (value === "keep" || value === "delete") return value;
  if (value.startsWith("move:") && value.length > "move:".length)
    return { moveTo: value.slice("move:".length) };
  throw new InvalidArgumentError('expected "keep", "delete" or "move:<dir>"');
}
