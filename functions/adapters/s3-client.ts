import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import { sendBodiesInPieces } from "./tls-body-pieces.js";

export type ChecksumMode = "when-supported" | "when-required";

export interface S3ClientSettings {
  /** An S3-compatible endpoint (MinIO, Ceph, s3rver...); implies path-style addressing. */
  endpoint?: string;
  region?: string;
  /**
   * "when-supported" (the SDK's default) sends CRC32 checksums with every upload; "when-required"
   * sends them only where S3 demands one, for servers that reject the newer checksum headers.
   * Unset, the SDK reads AWS_REQUEST_CHECKSUM_CALCULATION.
   */
  checksums?: ChecksumMode;
}

/**
 * Builds the S3 client once per process. The endpoint comes from the settings or from
 * AWS_ENDPOINT_URL_S3, as the AWS CLI does; credentials from the SDK's usual chain.
 */
export function createS3Client(
  settings: S3ClientSettings = {},
  env: NodeJS.ProcessEnv = process.env,
): S3Client {
  const endpoint = settings.endpoint ?? nonEmpty(env.AWS_ENDPOINT_URL_S3) ?? nonEmpty(env.AWS_ENDPOINT_URL);
  const checksums =
    settings.checksums === undefined ? undefined : settings.checksums.toUpperCase().replace("-", "_");
  const accessKeyId = nonEmpty(env.AWS_ACCESS_KEY_ID);
  const secretAccessKey = nonEmpty(env.AWS_SECRET_ACCESS_KEY);
  return s3ClientForParts({
    // Keys in the given environment win, so a caller (or a test) can run with an env of its own;
    // otherwise the SDK's default chain (process env, profile, container or instance role).
    ...(accessKeyId && secretAccessKey
      ? { credentials: { accessKeyId, secretAccessKey, sessionToken: nonEmpty(env.AWS_SESSION_TOKEN) } }
      : {}),
    region: settings.region ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION) ?? "us-east-1",
    ...(endpoint === undefined ? {} : { endpoint, forcePathStyle: true }),
    ...(checksums === undefined
      ? {}
      : {
          requestChecksumCalculation: checksums as "WHEN_SUPPORTED" | "WHEN_REQUIRED",
          responseChecksumValidation: checksums as "WHEN_SUPPORTED" | "WHEN_REQUIRED",
        }),
    // A bucket in another region than the configured one still works (one extra round trip).
    followRegionRedirects: true,
  });
}

/**
 * An S3 client made for sending parts of several MB, the Lambda's as the command's: kept-alive
 * connections, and bodies handed to TLS in pieces (see tls-body-pieces.ts).
 */
export function s3ClientForParts(config: S3ClientConfig = {}): S3Client {
  const client = new S3Client({
    ...config,
    // The SDK adds `Expect: 100-continue` to bodies of 2 MB and more, and sends such a request over a
    // connection of its own that is closed after it (a keep-alive agent is not used for them): every
    // part paid a TCP and TLS handshake, TCP's slow start and a round trip for the 100 (measured, 1 GiB
    // over HTTPS: 130 connections, now 4 as rclone's; about 0.5 CPU s less). What 100-continue saves,
    // a refused request's body, is one part's bytes: the upload stops at its first failed part.
    expectContinueHeader: false,
  });
  sendBodiesInPieces(client);
  return client;
}

/** An environment variable's value, with "" read as unset (as the AWS SDKs do). */
export function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
