import type { Client } from "basic-ftp";

/**
 * Keeps the FEAT answer basic-ftp's login reads (useDefaultSettings asks FEAT and keeps only whether
 * MLST is there): every later question about the session's features (the digests, REST STREAM) reads
 * that one answer instead of sending FEAT again. Installed before login, on a client that logs in
 * once (a session is never reconnected: a new one gets a new client).
 */
export function keepLoginFeatures(client: Client): void {
  const askServer = client.features.bind(client);
  let kept: Promise<Map<string, string>> | undefined;
  client.features = () => {
    kept ??= askServer();
    return kept;
  };
}

/**
 * RFC 3659's restart of a stream transfer: `REST STREAM` in FEAT. A server that does not announce it
 * may still take REST, but nothing says it sends from the offset, and a range read is only worth its
 * bytes when it does.
 */
export function announcesRestStream(features: ReadonlyMap<string, string>): boolean {
  for (const [name, rest] of features) {
    if (name.toUpperCase() === "REST" && rest.trim().toUpperCase().split(/\s+/).includes("STREAM"))
      return true;
  }
  return false;
}
