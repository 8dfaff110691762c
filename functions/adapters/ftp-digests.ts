import { type Client, FTPError } from "basic-ftp";
import type { DigestAlgorithm, SourceDigest } from "../core/index.js";
import {
  type DigestCommand,
  offeredDigests,
  parseHashReply,
  parseXDigestReply,
} from "./ftp-digest-replies.js";
import { replyText } from "./ftp-replies.js";

/** The commands whose reply waits for the server to read a whole file: they get the digest timeout. */
export const DIGEST_VERBS = ["HASH", "XSHA256", "XSHA1", "XMD5", "XCRC"] as const;

/**
 * One session's file digests: FEAT as the login read it (ftp-features.ts keeps it), the
 * algorithm HASH has selected remembered (OPTS HASH only when it changes), and each digest asked
 * with the digest timeout on the socket too (basic-ftp's idle timer would cut a long HASH short).
 */
export class ServerDigests {
  private features: Promise<DigestCommand[]> | undefined;
  private selected: string | undefined;

  constructor(
    private readonly client: Client,
    private readonly limits: { digestTimeoutMs: number },
  ) {}

  offered(): Promise<DigestCommand[]> {
    this.features ??= this.client.features().then((features) => {
      const commands = offeredDigests(features);
      this.selected = commands.find((command) => command.selected)?.name;
      return commands;
    });
    return this.features;
  }

  /** A refusal (4xx/5xx) or a reply that does not parse is no digest, with why; a broken session throws. */
  async ask(path: string, algorithm: DigestAlgorithm): Promise<SourceDigest | { unavailable: string }> {
    const command = (await this.offered()).find((offered) => offered.algorithm === algorithm);
    if (command === undefined) return { unavailable: `the server offers no ${algorithm}` };
    try {
      if (command.verb === "HASH" && command.name !== this.selected) {
        await this.client.send(`OPTS HASH ${command.name}`);
        this.selected = command.name;
      }
      const reply = await this.slowly(`${command.verb} ${path}`);
      // proftpd's mod_digest says what it computes first ("213-Computing SHA-256 digest"): the digest
      // is on the reply's last line.
      const text = replyText(reply.message.trimEnd().split("\n").at(-1) ?? "");
      return command.verb === "HASH"
        ? parseHashReply(text, algorithm, command.name as string)
        : parseXDigestReply(text, algorithm);
    } catch (error) {
      if (!(error instanceof FTPError)) throw error;
      return { unavailable: `${command.verb} was refused: ${error.message.trim()}` };
    }
  }

  /**
   * basic-ftp arms its idle timer on the control socket when a command starts (synchronously, in
   * send) and disarms it when the task ends: re-armed here with the digest's bound.
   */
  private slowly(command: string) {
    const reply = this.client.send(command);
    this.client.ftp.socket.setTimeout(this.limits.digestTimeoutMs);
    return reply;
  }
}
