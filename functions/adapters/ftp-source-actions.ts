import type { Client } from "basic-ftp";

/**
 * The commands that change the server, sent only for afterCopy (the FTP account needs write rights
 * only when a job asks for them), with paths as the server's bytes (FtpSource's name codec). Each
 * rejects with basic-ftp's FTPError on a 4xx/5xx reply, which the session maps onto an
 * FtpReplyError naming the command.
 */
export async function deleteRemoteFile(client: Client, path: string): Promise<void> {
  await client.send(`DELE ${path}`);
}

/** RNFR answers 350 ("pending further information"): basic-ftp's send takes it as a positive reply. */
export async function renameRemoteFile(client: Client, from: string, to: string): Promise<void> {
  await client.send(`RNFR ${from}`);
  await client.send(`RNTO ${to}`);
}

export async function makeRemoteDirectory(client: Client, dir: string): Promise<void> {
  await client.send(`MKD ${dir}`);
}
