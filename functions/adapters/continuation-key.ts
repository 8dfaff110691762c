import { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { InvalidInputError } from "../core/index.js";

/** Gives the key continuations are signed with; undefined where none is configured. */
export type ContinuationKeySource = () => Promise<Uint8Array | undefined>;

/** As long as the passwords: a rotated key reaches every container within this time. */
const KEY_CACHE_SECONDS = 300;

/** The shortest key accepted: HMAC-SHA256 gains nothing from more than 32 bytes, and loses below. */
const MIN_KEY_BYTES = 32;

/** The key from a Secrets Manager secret (the stack generates it), cached across invocations. */
export function secretsManagerContinuationKey(
  client: SecretsManagerClient,
  secretArn: string,
): ContinuationKeySource {
  const provider = new SecretsProvider({ awsSdkV3Client: client });
  return async () => {
    const value = await provider.get(secretArn, { maxAge: KEY_CACHE_SECONDS });
    return continuationKeyFrom(value, secretArn);
  };
}

export function continuationKeyFrom(value: unknown, secretArn: string): Uint8Array {
  const key = typeof value === "string" ? Buffer.from(value, "utf8") : undefined;
  if (key === undefined || key.length < MIN_KEY_BYTES) {
    throw new InvalidInputError(
      `the continuation key secret ${secretArn} must hold at least ${MIN_KEY_BYTES} bytes of text`,
    );
  }
  return key;
}
