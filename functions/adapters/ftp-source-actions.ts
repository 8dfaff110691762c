import type { Client } from "basic-ftp";
import type { RemoteFilePath, RemotePath } from "../core/index.js";

/**
 * The commands that change the server, sent only for afterCopy (the FTP account needs write rights
 * only when a job asks for them). Each rejects with basic-ftp's FTPError on a 4xx/5xx reply, which
 * the session maps onto an FtpReplyError naming the command.
 */
export async function deleteRemoteFile(client: Client, path: RemoteFilePath): Promise<void> {
  await client.send(`DELE ${path}`);
}

/** RNFR answers 350 ("pending further information"): basic-ftp's send takes it as a positive reply. */
export async function renameRemoteFile(
  client: Client,
  from: RemoteFilePath,
  to: RemoteFilePath,
): Promise<void> {
  await client.send(`RNFR ${from}`);
  await client.send(`RNTO ${to}`);
}

export async function makeRemoteDirectory(client: Client, dir: RemotePath): Promise<void> {
  await client.send(`MKD ${dir}`);
}
