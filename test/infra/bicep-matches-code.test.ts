import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appStorage } from '../../shared/adapters/blob-client';
import { cosmosContainers } from '../../shared/adapters/cosmos-store';
import { configSchema, parseConfig } from '../../shared/config';
import { repoRoot } from '../support/local-services';

/**
 * The deployment must match the code: what the app reads and writes exists in Azure (the app's identity
 * cannot create Cosmos containers), and every setting the app reads is set by the template or documented as
 * left at its default. No Bicep compiler runs here, so the Bicep is read as text; the shapes it relies on are
 * kept simple on purpose (literal lists, one `name:`/`value:` pair per app setting).
 */
const infra = (file: string) => readFileSync(path.join(repoRoot, 'infra', file), 'utf8');

/** Settings the Functions host reads itself (they never reach the app's config). */
const hostSettings = new Set(['AzureWebJobsStorage__accountName', 'APPLICATIONINSIGHTS_CONNECTION_STRING']);

/** The body of `var|param <name> ... = [ ... ]`, up to the bracket that closes it. */
function bicepArray(source: string, name: string): string {
  const start = new RegExp(`^(?:var|param) ${name}\\b[^=\\n]*=\\s*\\[`, 'm').exec(source);
  if (!start) throw new Error(`No array ${name} in the Bicep.`);
  let depth = 0;
  for (let index = start.index + start[0].length - 1; index < source.length; index++) {
    if (source[index] === '[') depth++;
    if (source[index] === ']' && --depth === 0) return source.slice(start.index + start[0].length, index);
  }
  throw new Error(`Array ${name} is not closed.`);
}

/** The items of a Bicep array of strings, where an item may also name a `var` holding a string literal. */
function bicepStrings(source: string, name: string): string[] {
  return bicepArray(source, name)
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('//'))
    .map((item) => {
      const literal = /^'([^']*)'$/.exec(item);
      if (literal) return literal[1] ?? '';
      const variable = new RegExp(`^var ${item} = '([^']*)'$`, 'm').exec(source);
      if (!variable) throw new Error(`${name} holds ${item}, which is not a string literal or a string var.`);
      return variable[1] ?? '';
    });
}

/** Section `heading` of a markdown file: the lines up to the next heading of the same or a higher level. */
function markdownSection(text: string, heading: string): string {
  const start = text.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`No section "${heading}".`);
  const level = heading.split(' ')[0] ?? '#';
  const rest = text.slice(start + heading.length + 2);
  const end = rest.search(new RegExp(`^#{1,${level.length}} `, 'm'));
  return end < 0 ? rest : rest.slice(0, end);
}

const firstColumnNames = (section: string) =>
  [...section.matchAll(/^\|\s*`([^`]+)`\s*\|/gm)].map((match) => match[1] ?? '');

describe('infra/ matches the code', () => {
  it('provisions every Cosmos DB container the app uses, with the partition key the code expects', () => {
    const containers = bicepArray(infra('modules/cosmos.bicep'), 'containers');
    const provisioned = [
      ...containers.matchAll(/name:\s*'([^']+)'\s*\n\s*partitionKeyPath:\s*'([^']+)'/g),
    ].map((match) => ({ name: match[1], partitionKeyPath: match[2] }));
    const used = cosmosContainers.map(({ name, partitionKeyPath }) => ({ name, partitionKeyPath }));
    expect(provisioned).toEqual(used);
  });

  it('provisions every blob container, queue and table the app uses', () => {
    const main = infra('main.bicep');
    const used = appStorage(parseConfig({}));
    expect(used.blobContainers.length).toBeGreaterThan(0);
    expect(bicepStrings(main, 'appBlobContainerNames')).toEqual(used.blobContainers);
    expect(bicepStrings(main, 'appQueueNames')).toEqual(used.queues);
    expect(bicepStrings(main, 'appTableNames')).toEqual(used.tables);
    // The storage module creates each list it is given.
    const storage = infra('modules/storage.bicep');
    for (const list of ['appBlobContainerNames', 'appQueueNames', 'appTableNames']) {
      expect(storage).toMatch(new RegExp(`for \\w+ in ${list}:`));
    }
  });

  it('sets every setting the config schema reads, or lists it in infra/README.md as left at its default', () => {
    const appSettings = [
      ...infra('modules/function-app.bicep').matchAll(/name:\s*'([A-Za-z_][\w]*)'\s*\n\s*value:/g),
    ].map((match) => match[1] ?? '');
    const leftAtDefault = firstColumnNames(
      markdownSection(infra('README.md'), "## Settings left at the app's defaults"),
    );
    const configKeys = Object.keys(configSchema.shape);

    const unaccounted = configKeys.filter(
      (key) => !appSettings.includes(key) && !leftAtDefault.includes(key),
    );
    expect(unaccounted).toEqual([]);
    expect(leftAtDefault.filter((key) => appSettings.includes(key))).toEqual([]);
    // Nothing set or documented that nobody reads (a setting the app dropped, or a typo).
    expect(appSettings.filter((key) => !configKeys.includes(key) && !hostSettings.has(key))).toEqual([]);
    expect(leftAtDefault.filter((key) => !configKeys.includes(key))).toEqual([]);
    expect(new Set(appSettings).size).toBe(appSettings.length);
  });

  it('infra/README.md lists exactly the data-plane roles that role-assignments.bicep grants', () => {
    const normalise = (name: string) => name.toLowerCase().replace(/[^a-z]/g, '');
    const granted = [
      ...infra('modules/role-assignments.bicep').matchAll(/^var (\w+) = '[0-9a-f-]{36}'$/gm),
    ].map((match) => normalise(match[1] ?? ''));
    const roles = markdownSection(infra('README.md'), '### Role assignments (function app identity)');
    const listed = [...roles.matchAll(/^\|[^|]+\|\s*([^|(]+?)\s*(?:\(|\|)/gm)]
      .map((match) => normalise(match[1] ?? ''))
      .filter((name) => name !== 'role' && name !== '');
    expect(granted.length).toBeGreaterThan(3);
    expect([...new Set(listed)].sort()).toEqual([...new Set(granted)].sort());
  });
});
