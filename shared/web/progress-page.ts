import { existsSync } from 'node:fs';
import path from 'node:path';
import { StaticAssets } from '../http/static-assets';

// The page lives beside the code: `web/app` at the repository (or deployment package) root, whether this runs
// from `dist/shared/web` or from the sources.
const pageRoot =
  [
    path.resolve(__dirname, '..', '..', '..', 'web', 'app'),
    path.resolve(__dirname, '..', '..', 'web', 'app'),
  ].find((candidate) => existsSync(path.join(candidate, 'index.html'))) ??
  path.resolve(__dirname, '..', '..', '..', 'web', 'app');

/** Files of the progress page (`web/app/`), served by the app itself: no CDN, no build step. */
export const progressPageAssets = new StaticAssets(
  pageRoot,
  { 'app.js': 'text/javascript; charset=utf-8', 'app.css': 'text/css; charset=utf-8' },
  'no-cache',
);

/** The page's HTML. */
export function progressPageHtml(): Buffer {
  return progressPageAssets.read('index.html');
}
