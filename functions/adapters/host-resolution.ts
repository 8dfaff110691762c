import { lookup as dnsLookup } from "node:dns/promises";
import { isIP } from "node:net";
import { addressClass, FtpConnectionError, NotAllowedError } from "../core/index.js";

export type Lookup = (host: string) => Promise<{ address: string }[]>;

const systemLookup: Lookup = (host) => dnsLookup(host, { all: true, verbatim: true });

/**
 * Resolves a connection's host once and returns the address to connect to, refusing a host any of
 * whose addresses is loopback, private, link-local or otherwise non-public, unless the connection
 * allows them. The caller
 * connects to this address (TLS still verifies the host name), so a second DNS answer cannot point
 * the session somewhere else after the check (DNS rebinding).
 */
export async function resolveAllowedAddress(
  connection: string,
  host: string,
  allowPrivateAddresses: boolean,
  lookup: Lookup = systemLookup,
): Promise<string> {
  let addresses: string[];
  if (isIP(host) !== 0) {
    addresses = [host];
  } else {
    let answers: { address: string }[];
    try {
      answers = await lookup(host);
    } catch (error) {
      throw new FtpConnectionError(
        `connection "${connection}": cannot resolve ${host}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    if (answers.length === 0)
      throw new FtpConnectionError(`connection "${connection}": ${host} has no address`);
    addresses = answers.map((answer) => answer.address);
  }
  // Every answer, not only the one connected to: a name that also points inside is refused as a
  // whole, so which address a resolver happens to put first cannot decide the fence.
  for (const address of allowPrivateAddresses ? [] : addresses) {
    const kind = addressClass(address);
    if (kind !== "public") {
      const shown = address === host ? host : `${host} (${address})`;
      throw new NotAllowedError(
        `connection "${connection}": ${shown} is a ${kind} address; set "allowPrivateAddresses": true on the connection to allow it`,
      );
    }
  }
  return addresses[0] as string;
}
