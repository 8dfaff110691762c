import { describe, expect, it } from "vitest";
import { lambdaMemoryBudget } from "../../functions/lambda/memory-budget.js";

const MiB = 2 ** 20;

describe("lambdaMemoryBudget", () => {
  it("gives part buffers half of the function's memory above the runtime's allowance", () => {
    expect(lambdaMemoryBudget(undefined, { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "1024" })).toBe(448 * MiB);
    expect(lambdaMemoryBudget(undefined, { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "10240" })).toBe(5056 * MiB);
  });

  it("keeps one 16 MiB part in the smallest function", () => {
    expect(lambdaMemoryBudget(undefined, { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "128" })).toBe(16 * MiB);
  });

  it("takes transfer.memoryBudgetMiB over the memory size", () => {
    expect(lambdaMemoryBudget(64, { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "1024" })).toBe(64 * MiB);
  });

  it("uses the command's 256 MiB where no memory size is set (a local run)", () => {
    expect(lambdaMemoryBudget(undefined, {})).toBe(256 * MiB);
  });

  it.each(["1.5e3", "lots", "64", "99999", " 1024"])("refuses a memory size of %j", (text) => {
    expect(() => lambdaMemoryBudget(undefined, { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: text })).toThrow(
      /AWS_LAMBDA_FUNCTION_MEMORY_SIZE must be the function's memory in MiB/,
    );
  });
});
