import { readFileSync } from "node:fs";
import { FLAGS } from "aws-cdk-lib/cx-api";
import { describe, expect, it } from "vitest";

const cdkJson = JSON.parse(readFileSync(new URL("../../../cdk.json", import.meta.url), "utf8")) as {
  context: Record<string, unknown>;
};

// `cdk synth` prints "N feature flags are not configured" while any flag whose unconfigured behaviour
// differs from the recommended value is missing from cdk.json. cdk.json records each such flag at the
// behaviour the stack was built and tested with (the template is the same as without them).
describe("cdk.json's feature flags", () => {
  it("acknowledge every flag the CDK CLI would call not configured", () => {
    const unacknowledged = Object.entries(FLAGS)
      .filter(([name]) => !(name in cdkJson.context))
      .filter(
        ([, flag]) =>
          JSON.stringify(flag.unconfiguredBehavesLike?.v2 ?? false) !== JSON.stringify(flag.recommendedValue),
      )
      .map(([name]) => name);

    expect(unacknowledged).toEqual([]);
  });
});
