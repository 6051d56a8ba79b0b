import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { HttpRequest, HttpResponseInit } from '@azure/functions';

/**
 * Files served by the app itself (the service may run where no CDN is reachable): an allow-list of names with
 * their content types, read from one folder once and kept in memory. Anything not listed is 404, so no path
 * a client sends ever reaches the file system.
 */
export class StaticAssets {
  private readonly cache = new Map<string, Buffer>();

  constructor(
    private readonly root: string,
    private readonly types: Readonly<Record<string, string>>,
    private readonly cacheControl: string,
  ) {}

  /** The bytes of a file in the folder (listed or not: for the page's own HTML). */
  read(name: string): Buffer {
    let content = this.cache.get(name);
    if (!content) {
      content = readFileSync(path.join(this.root, name));
      this.cache.set(name, content);
    }
    return content;
  }

  /** The response for `GET .../{file}`: the listed asset, or a problem+json 404. */
  respond(request: HttpRequest): HttpResponseInit {
    const name = request.params.file ?? '';
    const type = Object.hasOwn(this.types, name) ? this.types[name] : undefined;
    if (!type) {
      return {
        status: 404,
        headers: { 'content-type': 'application/problem+json' },
        jsonBody: { status: 404, code: 'not_found', title: 'Not Found', detail: `No asset ${name}.` },
      };
    }
    return {
      status: 200,
      headers: { 'content-type': type, 'cache-control': this.cacheControl },
      body: this.read(name),
    };
  }
}
