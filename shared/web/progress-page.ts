import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Files of the progress page (`web/app/`), served by the app itself: no CDN, no build step. */
export const progressPageAssets: Record<string, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

// The page lives beside the code: `web/app` at the repository (or deployment package) root, whether this runs
// from `dist/shared/web` or from the sources.
const pageRoot =
  [
    path.resolve(__dirname, '..', '..', '..', 'web', 'app'),
    path.resolve(__dirname, '..', '..', 'web', 'app'),
  ].find((candidate) => existsSync(path.join(candidate, 'index.html'))) ??
  path.resolve(__dirname, '..', '..', '..', 'web', 'app');

const cache = new Map<string, Buffer>();

function read(name: string): Buffer {
  let content = cache.get(name);
  if (!content) {
    content = readFileSync(path.join(pageRoot, name));
    cache.set(name, content);
  }
  return content;
}

/** The page's HTML. */
export function progressPageHtml(): Buffer {
  return read('index.html');
}

/** The bytes of an allow-listed asset, read once; undefined for anything else. */
export function progressPageAsset(name: string): Buffer | undefined {
  return Object.hasOwn(progressPageAssets, name) ? read(name) : undefined;
}
