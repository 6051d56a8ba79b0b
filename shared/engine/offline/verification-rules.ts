import { getIteration, type IterationId } from '../catalog';
import type { IterationOutput } from '../patch';
import type { VerificationOutput } from '../prompts';
import { allItems, normalizeText, type Story } from '../story';
import { storyFacts } from './story-facts';

/** Quoted vague words are being defined ("fast", measured as ...), not used. */
const vagueInCriteria =
  /(?<!")\b(fast|quick|quickly|user-friendly|intuitive|easy|easily|simple|seamless(ly)?|everything|etc)\b(?!")/i;

/** Words that make a criterion specific to this story: its role, actions and objects. */
function storyKeywords(story: Story): string[] {
  const facts = storyFacts(story);
  const words = [facts.role, ...facts.verbs, facts.object]
    .join(' ')
    .toLowerCase()
    .split(/[^a-z0-9-]+/)
    .filter((word) => word.length >= 3 && !['and', 'the', 'for', 'with'].includes(word));
  return [...new Set(words)];
}

/**
 * The offline judge: rule checks that mirror the quality bar in the shared instructions. Each issue costs
 * 0.2 of the score, so one weak criterion still passes and several do not.
 */
export function offlineVerification(
  story: Story,
  iterationId: IterationId,
  proposal: IterationOutput,
): VerificationOutput {
  const definition = getIteration(iterationId);
  const keywords = storyKeywords(story);
  const issues: string[] = [];
  const criteria = proposal.patches.filter(
    (patch) =>
      patch.op !== 'remove' && (patch.section === 'outcomeCriteria' || patch.section === 'systemCriteria'),
  );
  if (criteria.length < 2) {
    issues.push(
      `Only ${criteria.length} acceptance criteria proposed; at least two story-specific, testable ones are expected.`,
    );
  }
  for (const patch of criteria) {
    const text = patch.text.toLowerCase();
    if (!keywords.some((keyword) => text.includes(keyword))) {
      issues.push(`Not specific to the story (names none of ${keywords.join(', ')}): "${patch.text}"`);
    }
    const vague = vagueInCriteria.exec(patch.text);
    if (vague) issues.push(`Uses the vague term "${vague[0]}": "${patch.text}"`);
  }
  const existing = new Set(allItems(story).map((item) => normalizeText(item.text)));
  for (const patch of proposal.patches) {
    if (!definition.sections.includes(patch.section)) {
      issues.push(`Changes ${patch.section}, which ${iterationId} may not change.`);
    } else if (patch.op === 'add' && existing.has(normalizeText(patch.text))) {
      issues.push(`Repeats an existing item: "${patch.text}"`);
    }
  }
  if (iterationId === 'validation') {
    const facts = storyFacts(story);
    const kinds = new Set(proposal.findings.map((finding) => finding.kind));
    if (facts.benefit === '' && !kinds.has('missing_benefit'))
      issues.push('The missing "so that" benefit is not reported.');
    if (facts.features.length > 1 && !kinds.has('not_atomic'))
      issues.push('The story bundles several features; not reported.');
    if (facts.vagueTerms.length > 0 && !kinds.has('vague'))
      issues.push(`Vague terms (${facts.vagueTerms.join(', ')}) are not reported.`);
  }
  const score = Math.max(0, Math.round((1 - 0.2 * issues.length) * 100) / 100);
  return { score, issues };
}
