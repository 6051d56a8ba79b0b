import { criterionSteps, indefiniteArticle, storyTitle, type Story, type StoryItem } from '../engine/story';
import { oneLine, type ExportSource, type StoryLink } from './export-source';

/** A piece of text, emphasised or not: the only formatting the exports need. */
export interface Run {
  text: string;
  strong?: boolean;
}

/** A block of a work item's text; each target format renders these and nothing else, so user text stays text. */
export type Block =
  { type: 'heading'; text: string } | { type: 'paragraph'; runs: Run[] } | { type: 'list'; items: Run[][] };

/** What a tracker's work item holds: a title, the description, and the acceptance criteria apart. */
export interface WorkItemOutline {
  key: string;
  title: string;
  description: Block[];
  acceptanceCriteria: Block[];
}

const strong = (text: string): Run => ({ text, strong: true });
/** Line breaks in user text become spaces (every format here puts an item on one line); edges are kept. */
const plain = (text: string): Run => ({ text: text.replace(/\s+/g, ' ') });

function statementRuns(story: Story): Run[] {
  const { asA, iWant, soThat } = story.statement;
  return [
    ...(asA === '' ? [] : [strong(`As ${indefiniteArticle(asA)}`), plain(` ${asA}, `)]),
    strong('I want'),
    plain(` ${iWant}`),
    ...(soThat === '' ? [] : [plain(', '), strong('so that'), plain(` ${soThat}`)]),
    { text: '.' },
  ];
}

/** A Given/When/Then criterion with its keywords emphasised; any other item as its text. */
function criterionRuns(item: StoryItem): Run[] {
  const steps = criterionSteps(item);
  if (!steps) return [plain(item.text)];
  return [
    strong('Given'),
    plain(` ${steps.given}, `),
    strong('when'),
    plain(` ${steps.when}, `),
    strong('then'),
    plain(` ${steps.then}.`),
  ];
}

function listSection(title: string, items: Run[][]): Block[] {
  return items.length === 0
    ? []
    : [
        { type: 'heading', text: title },
        { type: 'list', items },
      ];
}

const linkLabels: Record<StoryLink['kind'], string> = {
  'depends-on': 'Depends on',
  'shares-entity': 'Shares entities with',
  duplicates: 'Duplicates',
  conflicts: 'Conflicts with',
  'child-of': 'Part of',
};

/**
 * Every story as a work item: the statement, behaviour, notes, open questions and related stories as the
 * description; outcome and system criteria as the acceptance criteria.
 */
export function workItemOutlines(source: ExportSource): WorkItemOutline[] {
  const titles = new Map(source.specifications.map((spec) => [spec.key, storyTitle(spec.story)]));
  return source.specifications.map(({ key, story }) => {
    const related = source.links
      .filter((link) => link.from === key && titles.has(link.to))
      .map((link) => [strong(linkLabels[link.kind]), plain(` ${titles.get(link.to) ?? ''}`)]);
    return {
      key,
      title: oneLine(storyTitle(story)),
      description: [
        { type: 'paragraph', runs: statementRuns(story) },
        ...listSection(
          'User-visible behaviour',
          story.behaviour.map((item) => [plain(item.text)]),
        ),
        ...listSection(
          'Implementation notes',
          story.implementationNotes.map((note) => [
            strong(`${oneLine(note.topic)}:`),
            plain(` ${note.text}`),
          ]),
        ),
        ...listSection(
          'Open questions',
          story.openQuestions.map((item) => [plain(item.text)]),
        ),
        ...listSection('Related stories', related),
      ],
      acceptanceCriteria: [
        ...listSection('Outcome criteria', story.outcomeCriteria.map(criterionRuns)),
        ...listSection(
          'System criteria',
          story.systemCriteria.map((item) => [plain(item.text)]),
        ),
      ],
    };
  });
}
