import { AstBuilder, GherkinClassicTokenMatcher, Parser } from '@cucumber/gherkin';
import { IdGenerator } from '@cucumber/messages';
import { z } from 'zod';

/**
 * The documented shapes the exports must have, written from the vendors' documentation rather than from our
 * code, and the official Gherkin parser: what the unit and end-to-end export tests check files against.
 */
export function parseGherkin(text: string) {
  const parser = new Parser(new AstBuilder(IdGenerator.incrementing()), new GherkinClassicTokenMatcher());
  return parser.parse(text);
}

// Atlassian Document Format, as documented (developer.atlassian.com, "Atlassian Document Format" structure and
// the node reference): doc version 1; headings with level 1-6; paragraphs of inline nodes; bullet lists of list
// items; text nodes with a non-empty text and optional marks. Strict: anything else is not what we meant to write.
const adfMark = z.strictObject({ type: z.enum(['strong', 'em', 'code', 'strike', 'underline']) });
const adfText = z.strictObject({
  type: z.literal('text'),
  text: z.string().min(1),
  marks: z.array(adfMark).optional(),
});
const adfParagraph = z.strictObject({ type: z.literal('paragraph'), content: z.array(adfText).optional() });
const adfListItem = z.strictObject({ type: z.literal('listItem'), content: z.array(adfParagraph).min(1) });
const adfBlock = z.union([
  adfParagraph,
  z.strictObject({
    type: z.literal('heading'),
    attrs: z.strictObject({ level: z.number().int().min(1).max(6) }),
    content: z.array(adfText).optional(),
  }),
  z.strictObject({ type: z.literal('bulletList'), content: z.array(adfListItem).min(1) }),
]);
export const adfDocument = z.strictObject({
  version: z.literal(1),
  type: z.literal('doc'),
  content: z.array(adfBlock),
});

// Jira Cloud REST v3 create issue (POST /rest/api/3/issue): { fields: { project, issuetype, summary, ... } };
// bulk create (POST /rest/api/3/issue/bulk): { issueUpdates: [ up to 50 of those ] }. Labels cannot hold spaces.
const jiraIssue = z.strictObject({
  fields: z
    .object({
      project: z.strictObject({ key: z.string().regex(/^[A-Z][A-Z0-9_]+$/) }),
      issuetype: z.strictObject({ name: z.string().min(1) }),
      summary: z
        .string()
        .min(1)
        .max(255)
        .regex(/^[^\n\r]*$/),
      description: adfDocument,
      labels: z.array(z.string().regex(/^\S+$/)),
    })
    .catchall(adfDocument),
});
export const jiraBulk = z.strictObject({ issueUpdates: z.array(jiraIssue).min(1).max(50) });

// Azure DevOps Work Items - Create: the body is a JSON Patch document (application/json-patch+json) of
// { op, path, value } operations on /fields/<reference name> and /relations/-.
const patchOperation = z.strictObject({
  op: z.enum(['add', 'remove', 'replace', 'move', 'copy', 'test']),
  path: z.string().regex(/^\/(fields\/[A-Za-z][\w.]*|relations\/-)$/),
  value: z.union([
    z.string(),
    z.strictObject({
      rel: z.string().min(1),
      url: z.url(),
      attributes: z.record(z.string(), z.string()).optional(),
    }),
  ]),
});
export const patchDocument = z.array(patchOperation).min(1);
