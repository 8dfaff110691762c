/**
 * Removes a secret (the FTP password) from text a server sent before that text reaches an error
 * message, a log line, a result or the verbose trace. A hostile or careless server may echo the
 * password ("530 Login incorrect for password ..."); only the server's text can carry it, since our
 * own messages never include it.
 */

/** What a scrubbed password is replaced with. */
export const SCRUBBED = "***";

/**
 * Passwords shorter than this are not searched for inside words: "ab" would mangle every text it
 * scrubs. They are still replaced where they stand alone (between spaces, quotes, punctuation).
 */
export const MIN_SCRUB_ANYWHERE = 4;

export interface Scrubber {
  /** The text with every form of the secret replaced by SCRUBBED. */
  text(text: string): string;
  /** The same error, its message, FTP reply text, stack and causes scrubbed in place. */
  error<E>(error: E): E;
}

const identity: Scrubber = { text: (text) => text, error: (error) => error };

/**
 * The forms a password takes in text a server echoes: as typed, percent-encoded (upper- or
 * lower-case hex, space as %20 or +: a server that logs our URL or a form), and base64 (standard and
 * URL-safe, as in a Basic credential). Other transformations (hashes, truncations, case changes) are
 * not recognisable and are not attempted.
 */
export function secretForms(secret: string): string[] {
  const percent = encodeURIComponent(secret);
  const base64 = Buffer.from(secret, "utf8").toString("base64");
  const forms = [
    secret,
    percent,
    percent.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase()),
    percent.replace(/%20/g, "+"),
    encodeURI(secret),
    base64,
    base64.replace(/=+$/, ""),
    base64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""),
  ];
  // Longest first, so a form is replaced whole before a shorter form inside it could split it.
  return [...new Set(forms)].filter((form) => form !== "").sort((a, b) => b.length - a.length);
}

export function secretScrubber(secret: string | undefined): Scrubber {
  if (secret === undefined || secret === "") return identity;
  const alternatives = secretForms(secret).map(escapeRegExp).join("|");
  const pattern =
    secret.length >= MIN_SCRUB_ANYWHERE
      ? new RegExp(alternatives, "g")
      : // Not inside a word or a number: "ab" stays in "tab", "21" in "221".
        new RegExp(`(?<![\\p{L}\\p{N}])(?:${alternatives})(?![\\p{L}\\p{N}])`, "gu");
  const text = (value: string) => value.replace(pattern, SCRUBBED);
  return { text, error: (error) => scrubError(error, text) };
}

function scrubError<E>(error: E, text: (value: string) => string): E {
  let current: unknown = error;
  // A cause chain is short; the bound only keeps a cyclic one from looping.
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    const fields = current as Error & { ftpMessage?: unknown };
    fields.message = text(fields.message);
    if (fields.stack !== undefined) fields.stack = text(fields.stack);
    if (typeof fields.ftpMessage === "string") {
      Object.defineProperty(fields, "ftpMessage", { value: text(fields.ftpMessage) });
    }
    current = fields.cause;
  }
  return error;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * A log sink that scrubs basic-ftp's protocol trace. It logs each received chunk as "< chunk", and a
 * chunk may end inside the password: the unterminated tail waits for the next chunk, so the secret
 * is always scrubbed whole. The held tail is bounded like basic-ftp's own reply buffer.
 */
export function scrubbingLog(sink: (line: string) => void, scrubber: Scrubber): (line: string) => void {
  let tail = "";
  const flush = () => {
    if (tail !== "") sink(`< ${scrubber.text(tail)}`);
    tail = "";
  };
  return (line: string) => {
    if (!line.startsWith("< ")) {
      flush();
      sink(scrubber.text(line));
      return;
    }
    const text = tail + line.slice(2);
    const end = text.lastIndexOf("\n");
    tail = end === -1 ? text : text.slice(end + 1);
    if (end !== -1) sink(`< ${scrubber.text(text.slice(0, end + 1))}`);
    if (tail.length > 64 * 1024) flush();
  };
}
