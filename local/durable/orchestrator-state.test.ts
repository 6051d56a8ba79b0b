import { describe, expect, it } from 'vitest';
import { ActionType, flattenActions, parseOrchestratorFailure, retryDelayMs } from './orchestrator-state';

describe('orchestrator state', () => {
  it('flattens compound actions depth-first, the order in which task ids are handed out', () => {
    const activity = (name: string) => ({ actionType: ActionType.CallActivity, functionName: name });
    const flat = flattenActions({
      isDone: false,
      actions: [
        [
          activity('a'),
          {
            actionType: ActionType.WhenAll,
            compoundActions: [
              activity('b'),
              { actionType: ActionType.WhenAny, compoundActions: [activity('c'), activity('d')] },
            ],
          },
          activity('e'),
        ],
      ],
    });
    expect(flat.map((action) => action.functionName)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('recovers the error and state appended to an orchestrator failure', () => {
    const state = { isDone: false, actions: [[]], error: 'Error: nope', customStatus: { stage: 2 } };
    const parsed = parseOrchestratorFailure(`false\n\n$OutOfProcData$:${JSON.stringify(state)}`);
    expect(parsed.message).toBe('Error: nope');
    expect(parsed.state?.customStatus).toEqual({ stage: 2 });
    expect(parseOrchestratorFailure('plain failure')).toEqual({ message: 'plain failure' });
  });

  it('computes Durable Task retry delays: exponential backoff capped at the maximum interval', () => {
    const options = {
      firstRetryIntervalInMilliseconds: 100,
      maxNumberOfAttempts: 5,
      backoffCoefficient: 3,
      maxRetryIntervalInMilliseconds: 1000,
    };
    expect([1, 2, 3, 4].map((attempt) => retryDelayMs(options, attempt))).toEqual([100, 300, 900, 1000]);
    expect(retryDelayMs({ firstRetryIntervalInMilliseconds: 250, maxNumberOfAttempts: 3 }, 3)).toBe(250);
  });
});
