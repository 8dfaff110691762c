import { z } from "zod";

/**
 * The one rule for a key written below a key space (a caller's key, a mirror's prefix, a connection's
 * keyPrefix): why it would leave that space, or undefined when it stays. A leading "/" or a "." or
 * ".." segment escapes; "\\" is refused because some tools read it as a separator.
 */
export function keyEscapeReason(relative: string): string | undefined {
  if (relative.startsWith("/")) return 'must not start with "/"';
  if (relative.includes("\\")) return 'must not contain "\\"';
  if (relative.split("/").some((segment) => segment === "." || segment === "..")) {
    return 'must not have "." or ".." segments';
  }
  return undefined;
}

/** A key prefix: "" or ending in "/", staying below what it is appended to, free of CR, LF and NUL. */
export const keyPrefix = z.string().superRefine((prefix, ctx) => {
  const problem =
    prefix !== "" && !prefix.endsWith("/")
      ? 'must be empty or end with "/"'
      : /[\r\n\0]/.test(prefix)
        ? "must not contain CR, LF or NUL"
        : keyEscapeReason(prefix);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
});

/** A key prefix that names a space of its own: not empty. */
export const nonEmptyKeyPrefix = keyPrefix.refine((p) => p !== "", "must not be empty");
