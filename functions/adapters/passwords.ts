import { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { FtpLoginError } from "../core/index.js";

/** Gives the password of a connection; the value never reaches a log line or an error message. */
export type PasswordSource = (secretArn: string) => Promise<string>;

/** How long a password stays cached in the Lambda container before Secrets Manager is asked again. */
const PASSWORD_CACHE_SECONDS = 300;

/**
 * Passwords from Secrets Manager through Powertools' SecretsProvider, cached across invocations. The
 * secret holds the password itself, or JSON with a "password" field.
 */
export function secretsManagerPasswords(client: SecretsManagerClient): PasswordSource {
  const provider = new SecretsProvider({ awsSdkV3Client: client });
  return async (secretArn) => {
    let value: unknown;
    try {
      value = await provider.get(secretArn, { maxAge: PASSWORD_CACHE_SECONDS });
    } catch (error) {
      // The provider's message names the secret and the AWS error, never the value.
      throw new FtpLoginError(
        `cannot read the password secret ${secretArn}: ${(error as Error).message}`,
        undefined,
        {
          cause: error,
        },
      );
    }
    return passwordFromSecret(value, secretArn);
  };
}

export function passwordFromSecret(value: unknown, secretArn: string): string {
  if (typeof value !== "string" || value === "") {
    throw new FtpLoginError(`the secret ${secretArn} holds no text password`, undefined);
  }
  if (!value.trimStart().startsWith("{")) return value;
  try {
    const parsed = JSON.parse(value) as { password?: unknown };
    if (typeof parsed.password === "string") return parsed.password;
  } catch {
    return value; // a password that merely starts with "{"
  }
  throw new FtpLoginError(`the secret ${secretArn} is JSON without a "password" field`, undefined);
}
