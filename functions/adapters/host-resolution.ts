import { lookup as dnsLookup } from "node:dns/promises";
import { isIP } from "node:net";
import { addressClass } from "../core/address-policy.js";
import { FtpConnectionError, NotAllowedError } from "../core/errors.js";

export type Lookup = (host: string) => Promise<{ address: string }[]>;

const systemLookup: Lookup = (host) => dnsLookup(host, { all: true, verbatim: true });

/**
 * Resolves a connection's host once and returns the address to connect to, refusing loopback,
 * private, link-local and other non-public addresses unless the connection allows them. The caller
 * connects to this address (TLS still verifies the host name), so a second DNS answer cannot point
 * the session somewhere else after the check (DNS rebinding).
 */
export async function resolveAllowedAddress(
  connection: string,
  host: string,
  allowPrivateAddresses: boolean,
  lookup: Lookup = systemLookup,
): Promise<string> {
  let address: string;
  if (isIP(host) !== 0) {
    address = host;
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
    const first = answers[0];
    if (first === undefined)
      throw new FtpConnectionError(`connection "${connection}": ${host} has no address`);
    address = first.address;
  }
  const kind = addressClass(address);
  if (kind !== "public" && !allowPrivateAddresses) {
    const shown = address === host ? host : `${host} (${address})`;
    throw new NotAllowedError(
      `connection "${connection}": ${shown} is a ${kind} address; set "allowPrivateAddresses": true on the connection to allow it`,
    );
  }
  return address;
}
