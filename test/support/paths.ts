/** Where things are, from the compiled test's point of view (dist/test/...). */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
/** The synwatch command as installed (package.json bin): the bundle of dist/src/cli/main.js. */
export const CLI = path.join(REPO_ROOT, 'dist', 'synwatch.js');
export const FIXTURES = path.join(REPO_ROOT, 'fixtures');
/** The captures in fixtures/: pcap and pcapng, gzip'ed or not (the reader tells by magic). */
export const CAPTURE_FILE = /\.(pcap|pcapng)(\.gz)?$/;
/** ../shared/corpus beside the clone: present in CI, absent in a user's clone. */
export const CORPUS = path.resolve(REPO_ROOT, '..', 'shared', 'corpus');
export const HAVE_CORPUS = fs.existsSync(path.join(CORPUS, 'MANIFEST.tsv'));
export const NO_CORPUS_REASON = `../shared/corpus not found at ${CORPUS} (CI has it; a user's clone does not)`;
