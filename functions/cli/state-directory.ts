import { homedir } from "node:os";
import { join } from "node:path";

/** $FTP2S3_STATE_DIR, else $XDG_STATE_HOME/ftp2s3, else ~/.local/state/ftp2s3. */
export function stateDirectory(env: NodeJS.ProcessEnv): string {
  if (env.FTP2S3_STATE_DIR) return env.FTP2S3_STATE_DIR;
  return join(env.XDG_STATE_HOME || join(homedir(), ".local", "state"), "ftp2s3");
}
