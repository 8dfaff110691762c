import { type Client, FTPError } from "basic-ftp";
import { type MlstFile, parseMlstReply } from "./ftp-mlst-reply.js";

/**
 * The replies that say a server does not really do MLST, whatever its FEAT said: unknown command
 * (500), bad argument (501), not implemented (502), not for this parameter (504).
 */
const NOT_DONE = [500, 501, 502, 504];

/**
 * One session's MLST: asked where the server announced it, given up for the rest of the session when
 * the server shows it does not serve (NOT_DONE, or a reply parseMlstReply rules out for the session).
 */
export class ServerMlst {
  private givenUp = false;

  constructor(private readonly client: Client) {}

  /**
   * A plain file's size and time from one command; null when SIZE and MDTM must answer instead: MLST
   * not offered, refused (a 550 too: SIZE's own 550 is what reports a missing file later), or its
   * answer not to be trusted. A failed session rejects, as basic-ftp does.
   */
  async stat(wirePath: string): Promise<MlstFile | null> {
    // basic-ftp's login read FEAT, put MLSD first where it announced MLST and asked for the type, size
    // and modify facts (useDefaultSettings: OPTS MLST): no FEAT of our own, no round trip more.
    if (this.givenUp || !this.client.availableListCommands.includes("MLSD")) return null;
    let message: string;
    try {
      message = (await this.client.send(`MLST ${wirePath}`)).message;
    } catch (error) {
      if (!(error instanceof FTPError)) throw error;
      if (NOT_DONE.includes(error.code)) this.givenUp = true;
      return null;
    }
    const verdict = parseMlstReply(message);
    if ("size" in verdict) return verdict;
    if (verdict.fallback === "session") this.givenUp = true;
    return null;
  }
}
