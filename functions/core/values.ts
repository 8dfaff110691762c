/**
 * Values the core trusts. Each is a plain string or number at run time; the brand says which check
 * made it, and that check is its only constructor: a RemotePath comes from normaliseRemotePath or
 * resolveAllowedDirectory, a RemoteFilePath from remoteFilePath or resolveAllowedFile, an ObjectKey
 * from objectKey, resolveKey or a mirror's keyFor, a PartSize from partSize. Inside the core the type
 * is the proof: what it promises is not checked again.
 */

declare const remotePathBrand: unique symbol;
declare const remoteFileBrand: unique symbol;
declare const objectKeyBrand: unique symbol;
declare const partSizeBrand: unique symbol;

/** An absolute path on the server: no CR, LF or NUL, at most 4096 characters, "." and ".." resolved. */
export type RemotePath = string & { readonly [remotePathBrand]: true };

/** A RemotePath whose last name is a file's (not "/", and it did not end in "/", "." or ".."). */
export type RemoteFilePath = RemotePath & { readonly [remoteFileBrand]: true };

/** An S3 key ftp2s3 is willing to write (see assertValidKey). */
export type ObjectKey = string & { readonly [objectKeyBrand]: true };

/** A part size in bytes within S3's range: a whole number from 5 MiB to 5 GiB. */
export type PartSize = number & { readonly [partSizeBrand]: true };

/** Where one object is written: a bucket and a key that passed the key rules. */
export interface ObjectTarget {
  bucket: string;
  key: ObjectKey;
}
