import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sampleStoriesDir } from '../../shared/engine/fixtures/sample-stories';
import { repoRoot } from '../support/local-services';

/**
 * A fresh clone has only the repository: no `../shared` beside it, no other machine's folders. This scans
 * every file a clone has (code, tests, benchmarks, docs, infra, CI) for references that leave the repository.
 */
const skippedFolders = new Set(['node_modules', 'dist', '.git', '.local-data', 'test-results', 'coverage']);
const scannedExtensions = /\.(?:ts|mts|mjs|js|json|md|http|bicep|yaml|yml|sh)$|^run$/;

function repositoryFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return skippedFolders.has(name) ? [] : repositoryFiles(full);
    return scannedExtensions.test(name) && name !== 'package-lock.json' ? [full] : [];
  });
}

/** One machine's own folders; a repository file naming one only works on that machine. */
const machinePath = /(?<![\w.])\/(?:work|home|root|Users|mnt)\/[\w.-]+/g;
/** `../x/y` in any file: resolved from the file's own folder, it must stay inside the repository. */
const relativePath = /(?<![\w.])(?:\.\.\/)+[\w@.-][\w@./-]*/g;
/** `repoRoot, '..'`: a path built from the repository root that climbs out of it. */
const climbFromRoot = /repoRoot\s*,\s*(['"])\.\.\1/g;

function outsideReferences(file: string, text: string, root: string): string[] {
  const found: string[] = [];
  const lines = text.split('\n');
  lines.forEach((line, index) => {
    const where = `${path.relative(root, file)}:${index + 1}`;
    for (const match of line.matchAll(machinePath)) found.push(`${where}: ${match[0]}`);
    for (const match of line.matchAll(climbFromRoot)) found.push(`${where}: ${match[0]}`);
    for (const match of line.matchAll(relativePath)) {
      const target = path.resolve(path.dirname(file), match[0]);
      if (path.relative(root, target).startsWith('..')) found.push(`${where}: ${match[0]}`);
    }
  });
  return found;
}

describe('the repository is self-contained', () => {
  it('no file refers to a path outside the repository', () => {
    // This file spells out the patterns it looks for; every other file is scanned.
    const files = repositoryFiles(repoRoot).filter((file) => file !== __filename);
    expect(files.length).toBeGreaterThan(100);
    const found = files.flatMap((file) => outsideReferences(file, readFileSync(file, 'utf8'), repoRoot));
    expect(found).toEqual([]);
  });

  it('the sample stories live in examples/stories, inside the repository', () => {
    expect(path.relative(repoRoot, sampleStoriesDir)).toBe(path.join('examples', 'stories'));
    expect(readdirSync(sampleStoriesDir).filter((name) => name.endsWith('.md')).length).toBeGreaterThan(5);
  });

  it('the scan catches what used to break fresh clones', () => {
    const root = '/checkout/repo';
    const inReadme = outsideReferences(
      `${root}/README.md`,
      'npx user-story-agent enhance ../shared/stories/bank-transfer.md',
      root,
    );
    expect(inReadme).toEqual(['README.md:1: ../shared/stories/bank-transfer.md']);
    const inBench = outsideReferences(
      `${root}/bench/llm-caching.ts`,
      "const dir = argument('--stories', '/work/shared/stories');",
      root,
    );
    expect(inBench).toEqual(['bench/llm-caching.ts:1: /work/shared']);
    const inSupport = outsideReferences(
      `${root}/test/support/service.ts`,
      "export const stories = path.resolve(repoRoot, '..', 'shared', 'stories');",
      root,
    );
    expect(inSupport).toEqual(["test/support/service.ts:1: repoRoot, '..'"]);
    // Imports that climb to the repository's own shared/ folder are fine.
    expect(
      outsideReferences(`${root}/local/durable/index.ts`, "import { x } from '../../shared/logger';", root),
    ).toEqual([]);
  });
});
