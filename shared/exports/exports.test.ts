import { parse as parseCsv } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { adfDocument, jiraBulk, parseGherkin, patchDocument } from '../../test/support/export-shapes';
import { criterionSteps, parseStory, renderMarkdown, type Story } from '../engine/story';
import { azureDevOpsExport } from './azure-devops-export';
import { exportFiles } from './export-files';
import type { ExportFile, ExportSource } from './export-source';
import { jobExportSource } from './job-export';
import type { JobDocument } from '../jobs/job';

/** A story with every section, Given/When/Then and plain criteria, written the way users and the engine write. */
const transfer = parseStory(`---
productType: mobile-native
---
As a bank customer, I want to transfer money to another account so that I can pay my rent.

## User-visible behaviour
- The transfer screen shows the available balance.

## Outcome acceptance criteria
- Given the customer is signed in, when they confirm a transfer of 50 EUR, then the balance drops by 50 EUR.
- Given the amount exceeds the balance, when they confirm, then the app explains why it refused.
- The receipt can be shared as a PDF.

## System acceptance criteria
- Transfers are idempotent per request id.
- p95 latency under 800 ms.

## Implementation notes
### Security
- Strong customer authentication above 30 EUR.

## Open questions
- Are instant transfers in scope?
`);

/** Story text that would be markup in each target format, if it were not escaped. */
const hostile =
  parseStory(`As a admin <script>alert(1)</script>, I want [click|javascript:alert(1)] {html}<b>x</b>{html} so that =HYPERLINK("http://evil.test").

## User-visible behaviour
- <img src=x onerror=alert(1)> !http://evil.test/x.png! | cell |

## Outcome acceptance criteria
- Given "Feature: injected" is typed, when they submit "Scenario: injected", then the page shows <b>bold</b> & "quotes".

## System acceptance criteria
- # not a heading @tag """docstring"""
`);

const source = (...stories: Story[]): ExportSource => ({
  specifications: stories.map((story, index) => ({ key: `story-${index + 1}`, story })),
  links: [],
});

function csvRows(text: string): string[][] {
  return parseCsv(text, { relax_column_count: false });
}

function only(files: ExportFile[], name: RegExp): ExportFile {
  const file = files.find((candidate) => name.test(candidate.name));
  if (!file) throw new Error(`no file matching ${name} in ${files.map((f) => f.name).join(', ')}`);
  return file;
}

function adfTexts(document: z.infer<typeof adfDocument>): string[] {
  return JSON.stringify(document)
    .match(/"text":"(?:[^"\\]|\\.)*"/g)!
    .map((match) => JSON.parse(match.slice(7)) as string);
}

describe('Gherkin export', () => {
  it('writes one Feature whose Scenarios are the Given/When/Then outcome criteria, valid for the official parser', () => {
    const [file, ...others] = exportFiles(source(transfer), 'gherkin');
    expect(others).toHaveLength(0);
    expect(file?.name).toBe('transfer-money-to-another-account.feature');
    const document = parseGherkin(file?.content ?? '');
    const feature = document.feature!;
    expect(feature.name).toBe('Transfer money to another account');
    expect(feature.tags.map((tag) => tag.name)).toEqual(['@user-story-agent', '@mobile-native']);
    expect(feature.description).toContain('As a bank customer');
    const scenarios = feature.children.map((child) => child.scenario!);
    const expected = transfer.outcomeCriteria.flatMap((item) => criterionSteps(item) ?? []);
    expect(expected).toHaveLength(2);
    expect(
      scenarios.map((scenario) => scenario.steps.map((step) => [step.keyword.trim(), step.text])),
    ).toEqual(
      expected.map((steps) => [
        ['Given', steps.given],
        ['When', steps.when],
        ['Then', steps.then],
      ]),
    );
    const comments = document.comments.map((comment) => comment.text.trim());
    expect(comments).toContain('#   - Transfers are idempotent per request id.');
    expect(comments).toContain('#   - p95 latency under 800 ms.');
    expect(comments).toContain('#   - The receipt can be shared as a PDF.');
  });

  it('keeps keywords, tags, comments and doc strings in story text as text', () => {
    const [file] = exportFiles(source(hostile), 'gherkin');
    const feature = parseGherkin(file?.content ?? '').feature!;
    expect(feature.children).toHaveLength(1);
    const steps = feature.children[0]?.scenario?.steps ?? [];
    expect(steps.map((step) => step.text)).toEqual([
      '"Feature: injected" is typed',
      'they submit "Scenario: injected"',
      'the page shows <b>bold</b> & "quotes"',
    ]);
    expect(feature.tags).toHaveLength(2);
  });

  it('writes one file per story of a backlog, numbered, with related stories as comments', () => {
    const files = exportFiles(
      {
        ...source(transfer, hostile),
        links: [{ from: 'story-1', to: 'story-2', kind: 'depends-on' }],
      },
      'gherkin',
    );
    expect(files.map((file) => file.name)).toEqual([
      '1-transfer-money-to-another-account.feature',
      expect.stringMatching(/^2-.+\.feature$/),
    ]);
    for (const file of files) expect(parseGherkin(file.content).feature).toBeDefined();
    expect(files[0]?.content).toContain('#   - depends-on ');
  });
});

describe('Jira export', () => {
  it('writes create-issue bodies with an ADF description holding the acceptance criteria, and labels', () => {
    const files = exportFiles(source(transfer), 'jira', { jira: { projectKey: 'SHOP' } });
    const bulk = jiraBulk.parse(JSON.parse(only(files, /\.json$/).content));
    const fields = bulk.issueUpdates[0]!.fields;
    expect(fields.project.key).toBe('SHOP');
    expect(fields.summary).toBe('Transfer money to another account');
    expect(fields.labels).toEqual(['user-story-agent', 'mobile-native']);
    const texts = adfTexts(fields.description);
    expect(texts).toContain('Outcome criteria');
    expect(texts).toContain('Given');
    expect(texts).toContain(' the customer is signed in, ');
    expect(texts).toContain('Transfers are idempotent per request id.');
  });

  it('puts the acceptance criteria into a custom field when one is named', () => {
    const files = exportFiles(source(transfer), 'jira', {
      jira: { projectKey: 'SHOP', acceptanceCriteriaField: 'customfield_10050' },
    });
    const fields = jiraBulk.parse(JSON.parse(only(files, /\.json$/).content)).issueUpdates[0]!.fields;
    const criteria = adfDocument.parse(fields.customfield_10050);
    expect(adfTexts(criteria)).toContain('p95 latency under 800 ms.');
    expect(adfTexts(fields.description)).not.toContain('p95 latency under 800 ms.');
  });

  it('carries hostile story text only inside ADF text nodes, never as links or other nodes', () => {
    const files = exportFiles(source(hostile), 'jira');
    const fields = jiraBulk.parse(JSON.parse(only(files, /\.json$/).content)).issueUpdates[0]!.fields;
    const texts = adfTexts(fields.description).join('');
    expect(texts).toContain('<img src=x onerror=alert(1)>');
    expect(texts).toContain('[click|javascript:alert(1)]');
    expect(JSON.stringify(fields.description)).not.toMatch(/"type":"(link|inlineCard|mention|media)/);
  });

  it('writes an importer CSV with one row per story, repeated Labels columns and escaped wiki markup and formulas', () => {
    const files = exportFiles(source(transfer, hostile), 'jira');
    const rows = csvRows(only(files, /\.csv$/).content);
    expect(rows[0]).toEqual([
      'Issue Id',
      'Summary',
      'Issue Type',
      'Description',
      'Acceptance Criteria',
      'Labels',
      'Labels',
    ]);
    expect(rows).toHaveLength(3);
    const [, first, second] = rows;
    expect(first?.slice(0, 3)).toEqual(['1', 'Transfer money to another account', 'Story']);
    expect(first?.[4]).toContain('* *Given* the customer is signed in, *when* they confirm');
    expect(first?.slice(5)).toEqual(['user-story-agent', 'mobile-native']);
    expect(second?.[1]).not.toMatch(/^[=+\-@]/);
    expect(second?.[3]).toContain('\\[click\\|javascript:alert(1)\\]');
    expect(second?.[3]).toContain('\\{html\\}');
    expect(second?.[3]).toContain('\\!http://evil.test/x.png\\!');
    expect(second?.[3]).not.toMatch(/(^|[^\\])[[{!|]/);
  });

  it('escapes a cell that a spreadsheet would run as a formula', () => {
    const formula = parseStory('=HYPERLINK("http://evil.test","pay here") is all I want.');
    const rows = csvRows(only(exportFiles(source(formula), 'jira'), /\.csv$/).content);
    expect(rows[1]?.[1]).toBe(`'=HYPERLINK("http://evil.test","pay here") is all I want`);
  });
});

describe('Azure DevOps export', () => {
  it('writes a JSON Patch document creating a User Story with HTML description, acceptance criteria and tags', () => {
    const [file] = exportFiles(source(transfer), 'azure-devops');
    expect(file?.name).toBe('transfer-money-to-another-account.json');
    const document = patchDocument.parse(JSON.parse(file?.content ?? ''));
    const field = (name: string) => document.find((operation) => operation.path === `/fields/${name}`)?.value;
    expect(field('System.Title')).toBe('Transfer money to another account');
    expect(field('System.Tags')).toBe('user-story-agent; mobile-native');
    expect(field('System.Description')).toContain(
      '<p><b>As a</b> bank customer, <b>I want</b> to transfer money to another account, <b>so that</b> I can pay my rent.</p>',
    );
    expect(field('Microsoft.VSTS.Common.AcceptanceCriteria')).toContain(
      '<li><b>Given</b> the customer is signed in, <b>when</b> they confirm a transfer of 50 EUR, <b>then</b> the balance drops by 50 EUR.</li>',
    );
  });

  it('escapes story text in every HTML field', () => {
    const [file] = exportFiles(source(hostile), 'azure-devops');
    const document = patchDocument.parse(JSON.parse(file?.content ?? ''));
    const htmlFields = document
      .filter((operation) => /Description|AcceptanceCriteria/.test(operation.path))
      .flatMap((operation) => (typeof operation.value === 'string' ? [operation.value] : []))
      .join('');
    expect(htmlFields).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(htmlFields).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(htmlFields).toContain('&lt;b&gt;bold&lt;/b&gt; &amp; &quot;quotes&quot;');
    const tags = htmlFields.match(/<\/?[a-z0-9]+>/g) ?? [];
    expect(new Set(tags)).toEqual(
      new Set(['<p>', '</p>', '<b>', '</b>', '<h3>', '</h3>', '<ul>', '</ul>', '<li>', '</li>']),
    );
  });

  it('links a backlog’s stories as Related, Predecessor and Parent once their work item URLs are known', () => {
    const backlog: ExportSource = {
      ...source(transfer, hostile, transfer),
      links: [
        { from: 'story-2', to: 'story-1', kind: 'depends-on' },
        { from: 'story-2', to: 'story-3', kind: 'duplicates' },
        { from: 'story-3', to: 'story-1', kind: 'child-of' },
      ],
    };
    // The temporary ids of one $batch call, as Azure DevOps documents them for creating linked items together.
    const workItemUrl = (key: string) =>
      `https://dev.azure.com/contoso/_apis/wit/workItems/-${key.replace('story-', '')}`;
    const files = azureDevOpsExport(backlog, { workItemUrl });
    const relations = files.map((file) =>
      patchDocument
        .parse(JSON.parse(file.content))
        .filter((operation) => operation.path === '/relations/-')
        .map((operation) => operation.value),
    );
    expect(relations[0]).toEqual([]);
    expect(relations[1]).toEqual([
      {
        rel: 'System.LinkTypes.Dependency-Reverse',
        url: 'https://dev.azure.com/contoso/_apis/wit/workItems/-1',
        attributes: { comment: 'depends-on' },
      },
      {
        rel: 'System.LinkTypes.Related',
        url: 'https://dev.azure.com/contoso/_apis/wit/workItems/-3',
        attributes: { comment: 'duplicates' },
      },
    ]);
    expect(relations[2]).toEqual([
      {
        rel: 'System.LinkTypes.Hierarchy-Reverse',
        url: 'https://dev.azure.com/contoso/_apis/wit/workItems/-1',
        attributes: { comment: 'child-of' },
      },
    ]);
    expect(new Set(files.map((file) => file.name)).size).toBe(3);
  });
});

describe('exports of a job', () => {
  const job = (status: JobDocument['status'], markdown?: string) =>
    ({
      id: 'job-1',
      status,
      productType: 'mobile-native',
      ...(markdown === undefined ? {} : { result: { story: markdown, iterations: [] } }),
    }) as unknown as JobDocument;

  it('reads the stored specification back with its criteria’s Given/When/Then steps', () => {
    const markdown = renderMarkdown(transfer);
    const exported = jobExportSource(job('completed', markdown));
    const [specification] = exported.specifications;
    expect(specification?.markdown).toBe(markdown);
    expect(specification?.story.outcomeCriteria.map(criterionSteps)).toEqual(
      transfer.outcomeCriteria.map(criterionSteps),
    );
    expect(specification?.story.systemCriteria.map((item) => item.text)).toEqual(
      transfer.systemCriteria.map((item) => item.text),
    );
    expect(exportFiles(exported, 'markdown')[0]?.content).toBe(markdown);
  });

  it('refuses a job that has not completed with job_not_completed', () => {
    for (const status of ['running', 'failed', 'cancelled'] as const) {
      expect(() => jobExportSource(job(status, renderMarkdown(transfer)))).toThrow(
        expect.objectContaining({ code: 'job_not_completed' }),
      );
    }
  });
});
