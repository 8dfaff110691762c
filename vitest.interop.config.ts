import { defineConfig } from "vitest/config";

// The interop suite: real FTP servers from Debian (scripts/interop-setup.sh fetches them), started and
// stopped by the tests on 127.0.0.1. One file at a time; transfers of up to 64 MiB get room.
export default defineConfig({
  test: {
    include: ["test/interop/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  },
});
