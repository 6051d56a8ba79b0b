/**
 * HTTP route templates as the Functions host understands them: `{name}`, optional `{name?}`, constrained
 * `{name:int}` / `{name:guid}` / `{name:alpha}`, and a trailing catch-all `{*rest}`. Literal segments win
 * over parameters, as in ASP.NET routing, so `jobs/current` beats `jobs/{id}` whatever the registration order.
 */

type Segment =
  | { kind: 'literal'; value: string }
  | { kind: 'param'; name: string; optional: boolean; constraint: string | undefined }
  | { kind: 'catchAll'; name: string };

export interface CompiledRoute<T> {
  template: string;
  methods: Set<string>;
  target: T;
  segments: Segment[];
  /** Higher sorts first: literal segments score more than parameters. */
  precedence: number[];
}

export interface RouteMatch<T> {
  target: T;
  params: Record<string, string>;
}

const constraints: Record<string, RegExp> = {
  int: /^-?\d+$/,
  long: /^-?\d+$/,
  guid: /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
  alpha: /^[A-Za-z]+$/,
  bool: /^(true|false)$/i,
};

function parseSegment(raw: string): Segment {
  const param = /^\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(\?)?(?::([a-z]+))?\}$/.exec(raw);
  if (!param) return { kind: 'literal', value: raw.toLowerCase() };
  const [, star, name = '', optional, constraint] = param;
  if (star) return { kind: 'catchAll', name };
  return { kind: 'param', name, optional: optional === '?', constraint };
}

export function compileRoute<T>(template: string, methods: string[], target: T): CompiledRoute<T> {
  const segments = template
    .split('/')
    .filter((part) => part.length > 0)
    .map(parseSegment);
  const precedence = segments.map((segment) =>
    segment.kind === 'literal' ? 3 : segment.kind === 'param' ? (segment.constraint ? 2 : 1) : 0,
  );
  return {
    template,
    methods: new Set(methods.map((method) => method.toUpperCase())),
    target,
    segments,
    precedence,
  };
}

function comparePrecedence(a: number[], b: number[]): number {
  for (let index = 0; index < Math.max(a.length, b.length); index++) {
    const difference = (b[index] ?? -1) - (a[index] ?? -1);
    if (difference !== 0) return difference;
  }
  return 0;
}

/** Percent-decodes a path segment; a malformed escape stays as sent, as ASP.NET Core (the real host) leaves it. */
function decodeSegment(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

function matchSegments(segments: Segment[], parts: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let index = 0; index < segments.length; index++) {
    const segment = segments[index];
    const part = parts[index];
    if (!segment) return undefined;
    if (segment.kind === 'catchAll') {
      params[segment.name] = parts.slice(index).map(decodeSegment).join('/');
      return params;
    }
    if (part === undefined) {
      if (segment.kind === 'param' && segment.optional) continue;
      return undefined;
    }
    if (segment.kind === 'literal') {
      if (decodeSegment(part).toLowerCase() !== segment.value) return undefined;
      continue;
    }
    const value = decodeSegment(part);
    const constraint = segment.constraint ? constraints[segment.constraint] : undefined;
    if (constraint && !constraint.test(value)) return undefined;
    params[segment.name] = value;
  }
  return parts.length <= segments.length ? params : undefined;
}

/** A route table; `match` distinguishes "no such path" (404) from "path exists, method not allowed" (405). */
export class RouteTable<T> {
  private readonly routes: CompiledRoute<T>[] = [];

  add(template: string, methods: string[], target: T): void {
    this.routes.push(compileRoute(template, methods, target));
    this.routes.sort((a, b) => comparePrecedence(a.precedence, b.precedence));
  }

  match(method: string, pathname: string): RouteMatch<T> | 'method_not_allowed' | undefined {
    const parts = pathname.split('/').filter((part) => part.length > 0);
    let pathMatched = false;
    for (const route of this.routes) {
      const params = matchSegments(route.segments, parts);
      if (!params) continue;
      pathMatched = true;
      if (route.methods.has(method.toUpperCase())) return { target: route.target, params };
    }
    return pathMatched ? 'method_not_allowed' : undefined;
  }

  list(): CompiledRoute<T>[] {
    return [...this.routes];
  }
}
