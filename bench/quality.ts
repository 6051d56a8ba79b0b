import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sentenceProblems } from '../shared/engine/offline/grammar-guard';
import { createOfflineAdapter } from '../shared/engine/offline/offline-adapter';
import { offlineConsolidation, offlineReview, offlineRewrite } from '../shared/engine/offline/pass-rules';
import { storyContext } from '../shared/engine/offline/iteration-rules';
import { findingKinds, type Finding, type FindingKind, type Patch } from '../shared/engine/patch';
import { overallScore, reviewVerdict } from '../shared/engine/review';
import { runWorkflow } from '../shared/engine/runner';
import {
  allItems,
  criterionText,
  itemId,
  parseStory,
  type Story,
  type StoryItem,
} from '../shared/engine/story';

/**
 * Quality benchmark of the offline engine: every sample story, the labelled quality set and the held-out set
 * through the workflow the CLI runs (all applicable iterations in parallel, merged), then consolidation, the
 * judge and, when the judge asks for it, one rewrite round and a second judgement. Prints:
 *
 * - boilerplate: the share of criteria whose sentence, with the story's own words masked, appears in at least
 *   half of the other stories;
 * - broken sentences, by the grammar guard's checker over everything the engine wrote;
 * - criteria contradicting the story, by the judge's consistency check, as merged and after consolidation;
 * - the share of outcome criteria in Given/When/Then;
 * - validation precision and recall per finding kind against the labels;
 * - the judge's mean score on the engine's output and on the same output deliberately degraded (Given/When/Then
 *   stripped, criteria repeated, generic filler and a contradiction of the story injected).
 *
 * Run: `npm run build && node dist/bench/quality.js`.
 */

interface Labelled {
  id: string;
  story: string;
  defects: FindingKind[];
}

interface Outcome {
  name: string;
  story: Story;
  findings: Finding[];
  defects: FindingKind[] | undefined;
  /** Iterations that had nothing specific to add. */
  empty: number;
  rounds: number;
  /** Criteria the judge's consistency check finds contradicting the story, as merged and as delivered. */
  contradictions: { merged: number; delivered: number };
}

const examplesDir = join(__dirname, '..', '..', 'examples');
const qualityDir = join(examplesDir, 'quality');
const storiesDir = join(examplesDir, 'stories');

function readLabelled(file: string): Labelled[] {
  return readFileSync(join(qualityDir, file), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Labelled);
}

/** Applies a pass's patches the way the workflow does: removals by id, replacements, additions. */
function applyPass(story: Story, author: string, patches: readonly Patch[]): Story {
  const next = structuredClone(story);
  for (const patch of patches) {
    const items: StoryItem[] = next[patch.section];
    const index = items.findIndex((item) => item.id === patch.target);
    if (patch.op === 'remove') {
      if (index >= 0) items.splice(index, 1);
      continue;
    }
    const steps =
      patch.given && patch.when && patch.then
        ? { given: patch.given, when: patch.when, then: patch.then }
        : undefined;
    const text = steps ? criterionText(steps) : patch.text;
    if (patch.op === 'replace' && index >= 0) {
      const current = items[index];
      if (current)
        items[index] = {
          id: current.id,
          text,
          addedBy: current.addedBy,
          changedBy: [...current.changedBy, author],
          ...steps,
        };
      continue;
    }
    if (patch.op === 'add' && !items.some((item) => item.text === text)) {
      const item = {
        id: itemId(patch.section, author, text),
        text,
        addedBy: author,
        changedBy: [],
        ...steps,
      };
      if (patch.section === 'implementationNotes')
        next.implementationNotes.push({ ...item, topic: patch.topic || 'Review' });
      else items.push(item);
    }
  }
  return next;
}

async function enhance(name: string, text: string, defects: FindingKind[] | undefined): Promise<Outcome> {
  const llm = createOfflineAdapter();
  const result = await runWorkflow({ llm, story: parseStory(text) });
  const merged = contradictions(result.story);
  const consolidation = offlineConsolidation(result.story);
  let story = applyPass(result.story, 'consolidation', consolidation.patches);
  let rounds = 1;
  const first = offlineReview(story);
  if (reviewVerdict(first.scores, 1) === 'rewrite') {
    story = applyPass(story, 'rewrite', offlineRewrite(story, first.issues).patches);
    rounds = 2;
  }
  return {
    name,
    story,
    findings: result.iterations.find((iteration) => iteration.id === 'validation')?.findings ?? [],
    defects,
    empty: result.iterations.filter((iteration) => iteration.status === 'skipped').length,
    rounds,
    contradictions: { merged, delivered: contradictions(story) },
  };
}

function contradictions(story: Story): number {
  return offlineReview(story)
    .issues.filter((issue) => issue.dimension === 'consistentWithStory')
    .reduce((sum, issue) => sum + issue.itemIds.length, 0);
}

function criteria(story: Story): StoryItem[] {
  return [...story.outcomeCriteria, ...story.systemCriteria].filter((item) => item.addedBy !== 'original');
}

const stopWords = new Set(
  'a an the and or of to in on at by for with from is are be it its i my we our they their them this that so as not can will want'.split(
    ' ',
  ),
);

/**
 * The criterion with every content word of the story replaced by "_", and each run of story words (with the
 * small words between them, "_ a _") taken as one slot, so templates with swapped nouns compare equal.
 */
function masked(text: string, storyWords: ReadonlySet<string>): string {
  const small = [...stopWords].join('|');
  return text
    .toLowerCase()
    .replace(/[\p{L}\d'’-]+/gu, (word) => (storyWords.has(word) ? '_' : word))
    .replace(new RegExp(`_(?:\\s+(?:(?:${small})\\s+)*_)+`, 'gu'), '_')
    .replace(/\s+/g, ' ')
    .trim();
}

function storyWords(story: Story): Set<string> {
  const words = (story.original.toLowerCase().match(/[\p{L}\d'’-]+/gu) ?? []).filter(
    (word) => !stopWords.has(word),
  );
  // The actor is named from the role; its plural ("bank customers") is the same word for the reader.
  return new Set(words.flatMap((word) => [word, `${word}s`, `${word}es`]));
}

function boilerplateShare(outcomes: readonly Outcome[]): { share: number; total: number } {
  const sets = outcomes.map((outcome) => {
    const words = storyWords(outcome.story);
    return new Set(criteria(outcome.story).map((item) => masked(item.text, words)));
  });
  let total = 0;
  let boilerplate = 0;
  outcomes.forEach((outcome, index) => {
    const words = storyWords(outcome.story);
    for (const item of criteria(outcome.story)) {
      total += 1;
      const sentence = masked(item.text, words);
      const others = sets.filter((set, other) => other !== index && set.has(sentence)).length;
      if (others >= (outcomes.length - 1) / 2) boilerplate += 1;
    }
  });
  return { share: total === 0 ? 0 : boilerplate / total, total };
}

function brokenSentences(outcomes: readonly Outcome[]): { count: number; examples: string[] } {
  const examples: string[] = [];
  for (const outcome of outcomes) {
    for (const item of allItems(outcome.story)) {
      if (item.addedBy === 'original') continue;
      const problems = sentenceProblems(item.text);
      if (problems.length > 0) examples.push(`${outcome.name}: ${problems.join('; ')}: ${item.text}`);
    }
  }
  return { count: examples.length, examples };
}

function gwtShare(outcomes: readonly Outcome[]): number {
  const outcomeCriteria = outcomes.flatMap((outcome) =>
    outcome.story.outcomeCriteria.filter((item) => item.addedBy !== 'original'),
  );
  const structured = outcomeCriteria.filter((item) => item.given && item.when && item.then);
  return outcomeCriteria.length === 0 ? 1 : structured.length / outcomeCriteria.length;
}

function validationScores(outcomes: readonly Outcome[]): string[] {
  const lines: string[] = [];
  for (const kind of findingKinds) {
    let truePositives = 0;
    let falsePositives = 0;
    let falseNegatives = 0;
    const misses: string[] = [];
    for (const outcome of outcomes) {
      if (!outcome.defects) continue;
      const expected = outcome.defects.includes(kind);
      const reported = outcome.findings.some((finding) => finding.kind === kind);
      if (expected && reported) truePositives += 1;
      else if (reported) {
        falsePositives += 1;
        misses.push(`+${outcome.name}`);
      } else if (expected) {
        falseNegatives += 1;
        misses.push(`-${outcome.name}`);
      }
    }
    const precision =
      truePositives + falsePositives === 0 ? 1 : truePositives / (truePositives + falsePositives);
    const recall =
      truePositives + falseNegatives === 0 ? 1 : truePositives / (truePositives + falseNegatives);
    lines.push(
      `    ${kind.padEnd(22)} precision ${precision.toFixed(2)}  recall ${recall.toFixed(2)}  (${truePositives} found, ${falsePositives} wrong, ${falseNegatives} missed)${misses.length > 0 ? `  ${misses.join(' ')}` : ''}`,
    );
  }
  return lines;
}

const filler = [
  'The system must be fast, secure and reliable.',
  'All features work as expected and are well tested.',
];

/** The same specification made worse in the ways the judge must notice. */
function degrade(story: Story): Story {
  const worse = structuredClone(story);
  worse.outcomeCriteria = worse.outcomeCriteria.map(({ given: _given, when: _when, then, ...item }) => ({
    ...item,
    text: then ? `${then.charAt(0).toUpperCase()}${then.slice(1)}.` : item.text,
  }));
  const repeated = worse.outcomeCriteria
    .slice(0, 3)
    .map((item) => ({ ...item, id: `${item.id}-again`, text: item.text.replace(/\.$/, ' as well.') }));
  worse.outcomeCriteria.push(...repeated);
  for (const text of filler)
    worse.systemCriteria.push({
      id: itemId('systemCriteria', 'degraded', text),
      text,
      addedBy: 'degraded',
      changedBy: [],
    });
  const { facts } = storyContext(story);
  const action = facts.action;
  const contradiction = action
    ? `${facts.actor.charAt(0).toUpperCase()}${facts.actor.slice(1)} cannot ${action.verb}${action.object === '' ? '' : ` ${action.object}`}.`
    : `${facts.actor.charAt(0).toUpperCase()}${facts.actor.slice(1)} may act only within their own account.`;
  worse.outcomeCriteria.push({
    id: itemId('outcomeCriteria', 'degraded', contradiction),
    text: contradiction,
    addedBy: 'degraded',
    changedBy: [],
  });
  return worse;
}

function sumOf(outcomes: readonly Outcome[], value: (outcome: Outcome) => number): number {
  return outcomes.reduce((sum, outcome) => sum + value(outcome), 0);
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length;
}

function report(title: string, outcomes: readonly Outcome[]): void {
  const boilerplate = boilerplateShare(outcomes);
  const broken = brokenSentences(outcomes);
  const good = outcomes.map((outcome) => overallScore(offlineReview(outcome.story).scores));
  const weak = outcomes.map((outcome) => overallScore(offlineReview(degrade(outcome.story)).scores));
  const approved = outcomes.filter(
    (outcome) => reviewVerdict(offlineReview(outcome.story).scores, 0) === 'approve',
  ).length;
  const lines = [
    `${title}: ${outcomes.length} stories, ${boilerplate.total} criteria (${(boilerplate.total / Math.max(1, outcomes.length)).toFixed(1)} per story), ${outcomes.reduce((sum, outcome) => sum + outcome.empty, 0)} iterations with nothing specific to add, ${outcomes.filter((outcome) => outcome.rounds > 1).length} rewrite rounds`,
    `  boilerplate criteria          ${boilerplate.share.toFixed(2)}   (target <= 0.30; specific to the story ${(1 - boilerplate.share).toFixed(2)})`,
    `  contradicting the story       ${(sumOf(outcomes, (outcome) => outcome.contradictions.merged) / Math.max(1, boilerplate.total)).toFixed(3)} as merged, ${(sumOf(outcomes, (outcome) => outcome.contradictions.delivered) / Math.max(1, boilerplate.total)).toFixed(3)} as delivered (share of criteria, by the judge's consistency check)`,
    `  broken sentences              ${broken.count}      (target 0)`,
    `  outcome criteria in GWT       ${gwtShare(outcomes).toFixed(2)}   (target >= 0.90)`,
    `  judge mean, engine output     ${mean(good).toFixed(2)}   (${approved} of ${outcomes.length} approved)`,
    `  judge mean, degraded output   ${mean(weak).toFixed(2)}   gap ${(mean(good) - mean(weak)).toFixed(2)} (target >= 1.5)`,
  ];
  if (outcomes.some((outcome) => outcome.defects)) {
    lines.push(
      '  validation (target: recall 1.00, precision >= 0.90 per kind)',
      ...validationScores(outcomes),
    );
  }
  for (const example of broken.examples.slice(0, 5)) lines.push(`  broken: ${example}`);
  process.stdout.write(`${lines.join('\n')}\n\n`);
}

async function main(): Promise<void> {
  const names = readdirSync(storiesDir)
    .filter((name) => name.endsWith('.md'))
    .sort();
  const samples = await Promise.all(
    names.map((name) => enhance(name, readFileSync(join(storiesDir, name), 'utf8'), undefined)),
  );
  report('Sample stories', samples);
  for (const [title, file] of [
    ['Labelled quality set', 'labeled-stories.jsonl'],
    ['Held-out set', 'held-out-stories.jsonl'],
  ] as const) {
    const labelled = readLabelled(file);
    const outcomes = await Promise.all(labelled.map(({ id, story, defects }) => enhance(id, story, defects)));
    report(title, outcomes);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
