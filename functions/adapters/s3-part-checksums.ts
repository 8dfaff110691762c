import type { ChecksumAlgorithm, CompletedPart } from "@aws-sdk/client-s3";

/** The part checksums an upload's CompleteMultipartUpload must repeat, as S3 returned them. */
type PartChecksum = Pick<CompletedPart, "ChecksumCRC32" | "ChecksumCRC64NVME">;

/**
 * Per upload: the algorithm its parts carry (declared by CreateMultipartUpload) and the checksum S3
 * returned for each part, which CompleteMultipartUpload must list. A resumed upload gets both from
 * ListParts, which the core calls before going on. An upload of unknown algorithm is CRC32's, the
 * SDK's default.
 */
export class PartChecksums {
  private readonly algorithms = new Map<string, ChecksumAlgorithm>();
  private readonly byUpload = new Map<string, Map<number, PartChecksum>>();

  declare(uploadId: string, algorithm: ChecksumAlgorithm | undefined): void {
    if (algorithm !== undefined) this.algorithms.set(uploadId, algorithm);
  }

  /** What UploadPart asks the SDK to compute, when it is not the default. */
  algorithmOf(uploadId: string): { ChecksumAlgorithm?: ChecksumAlgorithm } {
    return this.algorithms.get(uploadId) === "CRC64NVME" ? { ChecksumAlgorithm: "CRC64NVME" } : {};
  }

  remember(uploadId: string, partNumber: number, returned: PartChecksum): void {
    const checksum: PartChecksum = {};
    if (returned.ChecksumCRC32 !== undefined) checksum.ChecksumCRC32 = returned.ChecksumCRC32;
    if (returned.ChecksumCRC64NVME !== undefined) checksum.ChecksumCRC64NVME = returned.ChecksumCRC64NVME;
    if (Object.keys(checksum).length === 0) return;
    let parts = this.byUpload.get(uploadId);
    if (parts === undefined) {
      parts = new Map();
      this.byUpload.set(uploadId, parts);
    }
    parts.set(partNumber, checksum);
  }

  of(uploadId: string, partNumber: number): PartChecksum {
    return this.byUpload.get(uploadId)?.get(partNumber) ?? {};
  }

  forget(uploadId: string): void {
    this.byUpload.delete(uploadId);
    this.algorithms.delete(uploadId);
  }
}
