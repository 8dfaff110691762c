/**
 * rclone (Debian's package) on the same pair of servers, configured entirely from the environment:
 * remote `src` is the FTP server, remote `dst` the S3 server. No config file is read or written.
 */
import { execFileAsync } from "./setup.js";

export interface RcloneInfo {
  version: string;
  /** The password in rclone's obscured form, as RCLONE_CONFIG_SRC_PASS takes it. */
  obscure(password: string): Promise<string>;
}

/** rclone's version, or undefined when it is not installed. */
export async function findRclone(): Promise<RcloneInfo | undefined> {
  try {
    const { stdout } = await execFileAsync("rclone", ["version"]);
    const version =
      stdout
        .split("\n")[0]
        ?.replace(/^rclone\s+/, "")
        .trim() ?? "unknown";
    return {
      version,
      async obscure(password) {
        return (await execFileAsync("rclone", ["obscure", password])).stdout.trim();
      },
    };
  } catch {
    return undefined;
  }
}

export function rcloneEnv(options: {
  ftp: { host: string; port: number; user: string; obscuredPassword: string };
  s3: { endpoint: string; accessKeyId: string; secretAccessKey: string; caCert?: string };
}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Debian's rclone refuses its S3 backend when AWS_CA_BUNDLE is set (it cannot add a CA bundle to
  // its own HTTP transport): "LoadCustomCABundleError ... unsupported transport".
  delete env.AWS_CA_BUNDLE;
  return {
    ...env,
    RCLONE_CONFIG: "/dev/null",
    RCLONE_CONFIG_SRC_TYPE: "ftp",
    RCLONE_CONFIG_SRC_HOST: options.ftp.host,
    RCLONE_CONFIG_SRC_PORT: String(options.ftp.port),
    RCLONE_CONFIG_SRC_USER: options.ftp.user,
    RCLONE_CONFIG_SRC_PASS: options.ftp.obscuredPassword,
    RCLONE_CONFIG_DST_TYPE: "s3",
    RCLONE_CONFIG_DST_PROVIDER: "Other",
    RCLONE_CONFIG_DST_ENDPOINT: options.s3.endpoint,
    RCLONE_CONFIG_DST_ACCESS_KEY_ID: options.s3.accessKeyId,
    RCLONE_CONFIG_DST_SECRET_ACCESS_KEY: options.s3.secretAccessKey,
    RCLONE_CONFIG_DST_FORCE_PATH_STYLE: "true",
    // An HTTPS endpoint with a self-signed certificate (the bench's discard S3): rclone's --ca-cert.
    ...(options.s3.caCert === undefined ? {} : { RCLONE_CA_CERT: options.s3.caCert }),
  };
}

/**
 * `rclone copyto` of one file with ftp2s3's upload shape: 8 MiB parts, 4 in flight, and multipart
 * from the first byte (rclone's default cutoff would send a 64 MiB file as one PUT).
 * --no-check-dest: a repeated run must copy again rather than find the object already there.
 */
export function rcloneCopyToArgs(
  remotePath: string,
  bucket: string,
  key: string,
  partMiB: number,
  queue: number,
) {
  return [
    "copyto",
    `src:${remotePath}`,
    `dst:${bucket}/${key}`,
    `--s3-chunk-size=${partMiB}M`,
    `--s3-upload-concurrency=${queue}`,
    `--s3-upload-cutoff=${partMiB}M`,
    "--no-check-dest",
    "-q",
  ];
}

/** `rclone copy` of a directory, 4 files at a time. */
export function rcloneCopyDirArgs(remoteDir: string, bucket: string, prefix: string, transfers: number) {
  return ["copy", `src:${remoteDir}`, `dst:${bucket}/${prefix}`, `--transfers=${transfers}`, "-q"];
}
