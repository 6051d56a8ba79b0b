import { criterionSteps, storyTitle, type Story, type StoryItem } from '../engine/story';
import {
  fileStems,
  oneLine,
  truncate,
  type ExportFile,
  type ExportSource,
  type StoryLink,
} from './export-source';

const indent = (depth: number) => '  '.repeat(depth);

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Distinct scenario names: tools that report by name (and readers) cannot tell two alike apart. */
function scenarioNames(criteria: readonly { then: string }[]): string[] {
  const seen = new Map<string, number>();
  return criteria.map(({ then }) => {
    const base = truncate(capitalize(oneLine(then)), 100);
    const count = (seen.get(base) ?? 0) + 1;
    seen.set(base, count);
    return count === 1 ? base : `${base} (${count})`;
  });
}

function commentedList(title: string, texts: readonly string[]): string[] {
  if (texts.length === 0) return [];
  return ['', `${indent(1)}# ${title}:`, ...texts.map((text) => `${indent(1)}#   - ${oneLine(text)}`)];
}

/**
 * The feature's description is the story statement. Every line starts with fixed words ("As a", "I want",
 * "So that") and user text never starts a line, so no story can open a scenario, a tag or a doc string.
 */
function statementLines(story: Story): string[] {
  const { asA, iWant, soThat } = story.statement;
  return [
    ...(asA === '' ? [] : [`As a ${oneLine(asA)}`]),
    `I want ${oneLine(iWant)}`,
    ...(soThat === '' ? [] : [`So that ${oneLine(soThat)}`]),
  ].map((line) => `${indent(1)}${line}`);
}

function featureFile(story: Story, related: readonly string[]): string {
  const steps = story.outcomeCriteria.flatMap((item) => {
    const parts = criterionSteps(item);
    return parts ? [parts] : [];
  });
  const plain = story.outcomeCriteria.filter((item: StoryItem) => criterionSteps(item) === undefined);
  const names = scenarioNames(steps);
  const lines = [
    `@user-story-agent @${story.productType}`,
    `Feature: ${truncate(oneLine(storyTitle(story)), 200)}`,
    ...statementLines(story),
    ...commentedList('Related stories', related),
    ...commentedList(
      'System acceptance criteria',
      story.systemCriteria.map((item) => item.text),
    ),
    ...commentedList(
      'Outcome criteria not written as Given/When/Then',
      plain.map((item) => item.text),
    ),
  ];
  steps.forEach((criterion, index) => {
    lines.push(
      '',
      `${indent(1)}Scenario: ${names[index] ?? ''}`,
      `${indent(2)}Given ${oneLine(criterion.given)}`,
      `${indent(2)}When ${oneLine(criterion.when)}`,
      `${indent(2)}Then ${oneLine(criterion.then)}`,
    );
  });
  return `${lines.join('\n')}\n`;
}

function relatedLines(
  key: string,
  links: readonly StoryLink[],
  titles: ReadonlyMap<string, string>,
): string[] {
  return links
    .filter((link) => link.from === key && titles.has(link.to))
    .map((link) => `${link.kind} ${titles.get(link.to) ?? ''}`);
}

/**
 * One `.feature` file per story: the statement as the feature's description, one scenario per Given/When/Then
 * outcome criterion, and the system criteria (which are checked by other means than scenarios) as comments.
 */
export function gherkinExport(source: ExportSource): ExportFile[] {
  const stems = fileStems(source);
  const titles = new Map(source.specifications.map((spec) => [spec.key, storyTitle(spec.story)]));
  return source.specifications.map((specification, index) => ({
    name: `${stems[index] ?? 'story'}.feature`,
    mediaType: 'text/x-gherkin; charset=utf-8',
    content: featureFile(specification.story, relatedLines(specification.key, source.links, titles)),
  }));
}
