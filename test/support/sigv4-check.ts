import type { IncomingMessage } from "node:http";
import aws4 from "aws4";

/**
 * Whether a request's SigV4 Authorization is right for `secretAccessKey`, recomputed from the request
 * as it arrived (method, path and query as sent, the headers it names as signed, its x-amz-date and
 * payload hash) by aws4, an implementation of SigV4 independent of the AWS SDK's. s3rver checks only
 * V2 signatures; this is what S3 checks of a V4 one. Requests without an Authorization header pass.
 */
export function sigv4Holds(req: IncomingMessage, secretAccessKey: string): boolean {
  const authorization = req.headers.authorization;
  if (authorization === undefined) return true;
  const parsed =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
      authorization,
    );
  if (parsed === null) return false;
  const [, accessKeyId, region, service, signedHeaders = "", signature] = parsed;
  const headers: Record<string, string> = {};
  for (const name of signedHeaders.split(";")) {
    const value = req.headers[name];
    if (typeof value !== "string") return false;
    headers[name] = value;
  }
  const signed = aws4.sign(
    { method: req.method, host: headers.host, path: req.url, headers, service, region },
    { accessKeyId, secretAccessKey, sessionToken: req.headers["x-amz-security-token"] as string | undefined },
  );
  const recomputed = /Signature=([0-9a-f]{64})/.exec(String(signed.headers?.Authorization ?? ""))?.[1];
  return recomputed === signature;
}
