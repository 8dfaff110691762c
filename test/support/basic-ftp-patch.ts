/**
 * The shape of patches/basic-ftp+6.2.6.patch in built code (minified or not): parseControlResponse
 * keeps the text after the last line feed for the next chunk. Bundle tests look for it.
 */
export const PATCHED_PARSER =
  /\.lastIndexOf\(\w+\)\s*\+\s*1[\s\S]{0,200}\.slice\(0,\s*\w+\)\.split\(\/\\r\?\\n\/\)/;
