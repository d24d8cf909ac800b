/**
 * Where the native addons are: native/build/Release under the package root, the nearest
 * directory above this file that holds package.json (dist/src/capture in the compiled tree, dist/ in the
 * bundled command). SYNWATCH_NATIVE_DIR names another directory (the tests use it to run what a
 * build without libpcap gives).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export function nativeAddonPath(name: string): string {
  const dir = process.env.SYNWATCH_NATIVE_DIR || path.join(packageRoot(__dirname), 'native/build/Release');
  return path.join(dir, `${name}.node`);
}

function packageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(from, '../../..');
  }
}
