/**
 * Files the CLI writes for the user (analyze --html): checked before the work that fills them,
 * written whole or not at all (a temporary file beside the target, renamed over it), and every
 * failure one line naming the option and the file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export class OutputFileError extends Error {
  override name = 'OutputFileError';
}

/** Throws when `file` could not be created: no such directory, not writable, or a directory itself. */
export function checkWritable(option: string, file: string): void {
  const dir = path.dirname(path.resolve(file));
  try {
    if (fs.existsSync(file) && fs.statSync(file).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (e) {
    throw new OutputFileError(`${option} ${file}: cannot write (${reason(e)})`);
  }
}

export function writeFileAtomic(option: string, file: string, text: string): void {
  const tmp = path.join(path.dirname(path.resolve(file)), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
  } catch (e) {
    try { fs.unlinkSync(tmp); } catch { /* it was never made */ }
    throw new OutputFileError(`${option} ${file}: cannot write (${reason(e)})`);
  }
}

function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'ENOENT') return 'no such directory';
  if (err.code === 'EACCES' || err.code === 'EPERM') return 'permission denied';
  if (err.code === 'EISDIR') return 'is a directory';
  return err.code ?? err.message;
}
