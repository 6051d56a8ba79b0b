import type { SectionName } from '../catalog';
import type { Patch } from '../patch';
import { allItems, criterionText, type CriterionSteps, type Story, type StoryItem } from '../story';
import { instructionSentences } from './qus-validation';
import { storyFacts } from './story-facts';

/*
 * The offline engine's refinement pass: a conversation turn's instruction applied to a finished story by
 * rule. Each clause of the instruction is read on its own ("add SEPA and split the admin part out" is two
 * edits); the edits are derived from the words of the clause and the story, never canned. A clause addressed
 * to the engine rather than to the specification is ignored, as the story's own such text is; a clause the
 * rules cannot read becomes an open question, so the instruction is never silently dropped.
 */

export interface RefinementOutput {
  summary: string;
  patches: Patch[];
}

/** One edit an instruction clause asks for. */
export type RefinementEdit =
  | { kind: 'add'; term: string }
  | { kind: 'remove'; term: string }
  | { kind: 'split'; term: string }
  | { kind: 'rename'; from: string; to: string }
  | { kind: 'ignored' }
  | { kind: 'unclear'; clause: string };

const editVerbs =
  'add|include|support|allow|accept|offer|remove|drop|delete|exclude|leave out|split|move|take|rename|replace|change';

/** Sentences, and "..., and then ..." / "... and remove ..." where a new edit starts. */
const clauseBoundary = new RegExp(
  `[.;!?\\n]+\\s*|,?\\s+(?:and|then|also|plus)\\s+(?:then\\s+|also\\s+)?(?=(?:please\\s+)?(?:${editVerbs})\\b)`,
  'i',
);

function cleanTerm(text: string): string {
  return text
    .replace(/^["'“”‘’\s]+|["'“”‘’\s.,;:!?]+$/g, '')
    .replace(/^(?:(?:support|options?|the option)\s+(?:for|to)\s+|the\s+|a\s+|an\s+)/i, '')
    .replace(/\s+(?:as well|too|also|please)$/i, '')
    .replace(/\s+/g, ' ')
    .trim();
}

const partWords = String.raw`(?:part|parts|bit|bits|side|section|sections|features?|stuff|items?|criteria|requirements?|pieces?)`;

const patterns: { pattern: RegExp; edit: (match: RegExpExecArray) => RefinementEdit | undefined }[] = [
  {
    pattern: /^(?:rename|replace|change)\s+(.+?)\s+(?:to|with|by|into)\s+(.+)$/i,
    edit: (match) => {
      const from = cleanTerm(match[1] ?? '');
      const to = cleanTerm(match[2] ?? '');
      return from && to && from.toLowerCase() !== to.toLowerCase() ? { kind: 'rename', from, to } : undefined;
    },
  },
  {
    pattern: new RegExp(
      String.raw`^(?:split|move|take)\s+(?:out\s+)?(.+?)(?:\s+${partWords})?(?:\s+out)?(?:\s+(?:into|to|as)\s+.*)?$`,
      'i',
    ),
    edit: (match) => {
      const term = cleanTerm(match[1] ?? '');
      return term ? { kind: 'split', term } : undefined;
    },
  },
  {
    pattern: new RegExp(
      String.raw`^(?:remove|drop|delete|exclude|leave out)\s+(.+?)(?:\s+${partWords})?(?:\s+out)?$`,
      'i',
    ),
    edit: (match) => {
      const term = cleanTerm(match[1] ?? '');
      return term ? { kind: 'remove', term } : undefined;
    },
  },
  {
    pattern: /^(?:add|include|support|allow|accept|offer)\s+(.+)$/i,
    edit: (match) => {
      const term = cleanTerm(match[1] ?? '');
      return term ? { kind: 'add', term } : undefined;
    },
  },
];

/** Reads an instruction into the edits it asks for, one per clause, in order. */
export function readInstruction(instruction: string): RefinementEdit[] {
  const edits: RefinementEdit[] = [];
  for (const raw of instruction.split(clauseBoundary)) {
    const clause = raw.trim().replace(/^(?:please|and|then|also|now)\s+/i, '');
    if (clause === '') continue;
    if (instructionSentences(clause).length > 0) {
      edits.push({ kind: 'ignored' });
      continue;
    }
    const edit = patterns
      .map(({ pattern, edit: read }) => {
        const match = pattern.exec(clause);
        return match ? read(match) : undefined;
      })
      .find((found) => found !== undefined);
    edits.push(edit ?? { kind: 'unclear', clause });
  }
  // A whole instruction addressed to the engine may span its clauses (markup, a fake conversation turn).
  if (!edits.some((edit) => edit.kind === 'ignored') && instructionSentences(instruction).length > 0) {
    return [{ kind: 'ignored' }];
  }
  return edits;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** "admin" also finds "admins" and "administrator"; a phrase is found as written. */
function mentions(term: string): RegExp {
  const words = term.split(/\s+/).map(escapeRegExp).join('\\s+');
  return new RegExp(`(?<![\\p{L}\\d])${words}[\\p{L}]*`, 'iu');
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function quote(text: string): string {
  const trimmed = text.replace(/\s+/g, ' ').replace(/"/g, "'").trim();
  return `"${trimmed.length > 80 ? `${trimmed.slice(0, 77).trimEnd()}...` : trimmed}"`;
}

function patch(op: Patch['op'], section: SectionName, target: string, text: string): Patch {
  return { op, section, target, text, topic: '', given: '', when: '', then: '' };
}

function criterion(op: Patch['op'], target: string, steps: CriterionSteps): Patch {
  return { ...patch(op, 'outcomeCriteria', target, criterionText(steps)), ...steps };
}

interface Located {
  item: StoryItem;
  section: SectionName;
}

function located(story: Story): Located[] {
  const sections: SectionName[] = [
    'behaviour',
    'outcomeCriteria',
    'systemCriteria',
    'implementationNotes',
    'openQuestions',
  ];
  return sections.flatMap((section) => story[section].map((item) => ({ item, section })));
}

/**
 * Applies an instruction to a finished story by rule. The patches are proposals, validated like any pass's
 * (an edit whose item already exists is rejected as a duplicate, so a repeated turn adds nothing twice).
 */
export function offlineRefinement(story: Story, instruction: string): RefinementOutput {
  const facts = storyFacts(story);
  const actor = facts.actor;
  const action = facts.action?.phrase;
  const patches: Patch[] = [];
  const done: string[] = [];
  const removed = new Set<string>();
  const renamed = new Set<string>();

  const removeMentions = (term: string): Located[] => {
    const found = located(story).filter(
      ({ item }) => !removed.has(item.id) && mentions(term).test(item.text),
    );
    for (const { item, section } of found) {
      removed.add(item.id);
      patches.push(patch('remove', section, item.id, ''));
    }
    return found;
  };

  for (const edit of readInstruction(instruction)) {
    switch (edit.kind) {
      case 'add': {
        const { term } = edit;
        patches.push(
          patch(
            'add',
            'behaviour',
            '',
            action
              ? `${capitalize(term)} is available to ${actor} when they ${action}.`
              : `${capitalize(term)} is available to ${actor}.`,
          ),
          criterion('add', '', {
            given: action ? `${actor} is about to ${action}` : `${actor} is using this feature`,
            when: `${actor} chooses ${term}`,
            then: action ? `${actor} can ${action} with ${term}` : `${term} is applied`,
          }),
        );
        done.push(`added ${term} (a behaviour item and an outcome criterion)`);
        break;
      }
      case 'remove': {
        const found = removeMentions(edit.term);
        done.push(
          found.length > 0
            ? `removed ${found.length} item(s) about ${edit.term}`
            : `found no item about ${edit.term} to remove`,
        );
        break;
      }
      case 'split': {
        const found = removeMentions(edit.term);
        if (found.length > 0) {
          patches.push(
            patch(
              'add',
              'openQuestions',
              '',
              `The ${edit.term} part was split out of this story on request (${found.length} item(s) removed, e.g. ${quote(found[0]?.item.text ?? '')}). Which separate story covers it?`,
            ),
          );
          done.push(`split the ${edit.term} part out (${found.length} item(s) removed)`);
        } else {
          done.push(`found no item about ${edit.term} to split out`);
        }
        break;
      }
      case 'rename': {
        const pattern = new RegExp(mentions(edit.from).source, 'giu');
        const swap = (text: string) =>
          text.replace(pattern, (match) =>
            match.charAt(0) === match.charAt(0).toUpperCase() ? capitalize(edit.to) : edit.to,
          );
        const found = located(story).filter(
          ({ item }) => !removed.has(item.id) && !renamed.has(item.id) && mentions(edit.from).test(item.text),
        );
        for (const { item, section } of found) {
          renamed.add(item.id);
          if (section === 'outcomeCriteria' && item.given && item.when && item.then) {
            patches.push(
              criterion('replace', item.id, {
                given: swap(item.given),
                when: swap(item.when),
                then: swap(item.then),
              }),
            );
          } else {
            const note = story.implementationNotes.find((candidate) => candidate.id === item.id);
            patches.push({
              ...patch('replace', section, item.id, swap(item.text)),
              topic: note?.topic ?? '',
            });
          }
        }
        done.push(`renamed ${edit.from} to ${edit.to} in ${found.length} item(s)`);
        break;
      }
      case 'ignored':
        done.push('ignored a part addressed to the engine rather than to the specification');
        break;
      case 'unclear': {
        const question = `The refinement asked ${quote(edit.clause)}: which items should change, and how?`;
        if (!allItems(story).some((item) => item.text === question)) {
          patches.push(patch('add', 'openQuestions', '', question));
        }
        done.push(`could not read ${quote(edit.clause)} as an edit; asked it as an open question`);
        break;
      }
    }
  }
  return {
    summary: done.length > 0 ? `${capitalize(done.join('; '))}.` : 'The instruction asked for no edit.',
    patches,
  };
}
