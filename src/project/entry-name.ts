/**
 * What a package entry's name may hold, shared by the reader (which refuses other names) and the
 * file selection (which does not pack a file under a name the reader would refuse).
 */

/** C0 and C1 controls and DEL: no file name needs them, and they could rewrite a terminal line. */
export const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** `C:` at the start: a drive on Windows, so `C:x` unpacks outside the directory there. */
export const DRIVE = /^[A-Za-z]:/;

/**
 * Why a path on disk, relative to the plugin directory and `/`-separated, cannot be an entry name
 * the reader accepts, or null. A Linux file system allows `\` and `:` in a name, but Dify reads
 * `/` as the only separator (when the Go CLI wrote `\` on Windows, the daemon found nothing:
 * dify-plugin-daemon issue #166), and Windows reads `a\b` as a directory and `C:x` as a drive.
 */
export function nameProblem(relPath: string): string | null {
  if (CONTROL.test(relPath)) return 'has a control character in its name';
  if (relPath.includes('\\')) return 'has a \\ in its name, which Dify and Windows read as a directory separator';
  if (DRIVE.test(relPath))
    return 'begins like a Windows drive (X:), which unpacks outside the plugin directory on Windows';
  return null;
}
