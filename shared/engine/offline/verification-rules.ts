import { getIteration, type IterationId } from '../catalog';
import type { IterationOutput } from '../patch';
import type { VerificationOutput } from '../prompts';
import { allItems, normalizeText, type Story } from '../story';
import { offlineIteration } from './iteration-rules';
import { genericCriteria, vagueWord } from './pass-rules';
import { checkStory } from './qus-validation';

function criteriaOf(output: IterationOutput): IterationOutput['patches'] {
  return output.patches.filter(
    (patch) =>
      patch.op !== 'remove' && (patch.section === 'outcomeCriteria' || patch.section === 'systemCriteria'),
  );
}

/**
 * The offline per-iteration judge (`options.verify`): the checks the whole-story judge makes, on one
 * iteration's proposal. Each issue costs 0.2 of the score, so one weak criterion still passes and several do
 * not. An iteration with nothing specific to add may propose nothing; one that leaves out what the story
 * calls for is told so.
 */
export function offlineVerification(
  story: Story,
  iterationId: IterationId,
  proposal: IterationOutput,
): VerificationOutput {
  const definition = getIteration(iterationId);
  const issues: string[] = [];
  const criteria = criteriaOf(proposal);
  const expected = Math.min(2, criteriaOf(offlineIteration(story, iterationId, [])).length);
  if (criteria.length < expected) {
    issues.push(
      `Only ${criteria.length} acceptance criteria proposed; this story calls for at least ${expected} specific, testable ones.`,
    );
  }
  for (const text of genericCriteria(
    story,
    criteria.map((patch) => patch.text),
  )) {
    issues.push(`Not specific to the story (would fit any story): "${text}"`);
  }
  for (const patch of criteria) {
    const vague = vagueWord(patch.text);
    if (vague) issues.push(`Uses the vague term "${vague}": "${patch.text}"`);
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
    const reported = new Set(proposal.findings.map((finding) => finding.kind));
    for (const expectedFinding of checkStory(story).findings) {
      if (!reported.has(expectedFinding.kind))
        issues.push(`Not reported: ${expectedFinding.kind} (${expectedFinding.detail})`);
    }
  }
  const score = Math.max(0, Math.round((1 - 0.2 * issues.length) * 100) / 100);
  return { score, issues };
}
