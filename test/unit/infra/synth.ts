import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { App, type Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { expect } from "vitest";
import { parseStackConfig, type StackConfig, StackConfigError } from "../../../infra/config.js";
import { Ftp2s3Stack } from "../../../infra/stack.js";

/** The sample configuration, as the JSON text a user edits. */
export const SAMPLE_CONFIG_PATH = fileURLToPath(
  new URL("../../../infra/sample-config.json", import.meta.url),
);

// biome-ignore lint/suspicious/noExplicitAny: tests edit the sample JSON freely, as a user edits the file
export type ConfigJson = Record<string, any>;

export function sampleConfigJson(): ConfigJson {
  return JSON.parse(readFileSync(SAMPLE_CONFIG_PATH, "utf8"));
}

export interface Synthesized {
  app: App;
  stack: Ftp2s3Stack;
  template: Template;
  config: StackConfig;
}

/**
 * Synthesizes the stack from the sample config, changed by `edit`. Bundling is skipped (context
 * aws:cdk:bundling-stacks = []): the template is the same, only the asset is a placeholder; the
 * bundle test is the one that runs esbuild.
 */
export function synth(
  edit: (json: ConfigJson) => void = () => {},
  options: { bundle?: boolean; outdir?: string } = {},
): Synthesized {
  const json = sampleConfigJson();
  edit(json);
  const config = parseStackConfig(json, "test config");
  const app = new App({
    ...(options.outdir === undefined ? {} : { outdir: options.outdir }),
    context: options.bundle ? {} : { "aws:cdk:bundling-stacks": [] },
  });
  const stack = new Ftp2s3Stack(app, "Test", { config });
  return { app, stack, template: Template.fromStack(stack), config };
}

/** The logical id CloudFormation knows a construct's resource by. */
export function logicalId(stack: Stack, construct: { node: { defaultChild?: unknown } } | unknown): string {
  const target = (construct as { node: { defaultChild?: unknown } }).node.defaultChild ?? construct;
  return stack.getLogicalId(target as never);
}

/** `{ "Fn::GetAtt": [id, "Arn"] }`, as templates reference ARNs. */
export function arnOf(id: string): { "Fn::GetAtt": [string, string] } {
  return { "Fn::GetAtt": [id, "Arn"] };
}

/** The message of the StackConfigError that synthesis with `edit` fails with; fails the test otherwise. */
export function synthError(edit: (json: ConfigJson) => void): string {
  try {
    synth(edit);
  } catch (error) {
    expect(error).toBeInstanceOf(StackConfigError);
    return (error as Error).message;
  }
  throw new Error("synthesis succeeded");
}
