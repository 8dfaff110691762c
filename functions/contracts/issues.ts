import type { z } from "zod";
import { InvalidInputError } from "../core/index.js";

/** Zod issues as one line: `connections.partner.roots: Too small ...; bucket: Required`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "(root)"}: ${issue.message}`)
    .join("; ");
}

/** Validates `input`; an InvalidInputError names every field that is wrong. */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new InvalidInputError(`invalid ${what}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}
