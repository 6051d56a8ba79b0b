import { describe, expect, it } from 'vitest';
import { pdf, png, svg } from '../../../test/support/mockup-files';
import { offlineMockupInventory } from './mockup-rules';

describe('offline mockup reader', () => {
  it('reads an image’s dimensions and says it cannot see its pixels', async () => {
    const inventory = await offlineMockupInventory([
      { kind: 'image', mediaType: 'image/png', data: png(640, 480).toString('base64'), title: 'home.png' },
    ]);
    expect(inventory.screens).toEqual([{ id: 'SCR-001', name: 'home.png (640x480 px)' }]);
    expect(inventory.components).toEqual([]);
    expect(inventory.notSeen.join(' ')).toContain('does not read pixels');
  });

  it('reads a PDF’s pages and the text drawn on them', async () => {
    const bytes = await pdf({ pages: 2, text: 'Checkout (step 1) - Pay now' });
    const inventory = await offlineMockupInventory([
      { kind: 'pdf', data: bytes.toString('base64'), title: 'flow.pdf' },
    ]);
    expect(inventory.screens.map((screen) => screen.id)).toEqual(['SCR-001', 'SCR-002']);
    expect(inventory.texts).toEqual(['Checkout (step 1) - Pay now']);
  });

  it('lists an SVG’s elements with ids as components in document order, with kinds from their ids', async () => {
    const markup = svg(
      '<title>Sign in</title><g id="email-field"><text>Email</text></g><rect id="submit-button" width="1" height="1"/><text id="help-link">Forgot password?</text>',
    ).toString('utf8');
    const inventory = await offlineMockupInventory([{ kind: 'text', text: markup, title: 'login.svg' }]);
    expect(inventory.screens).toEqual([{ id: 'SCR-001', name: 'Sign in' }]);
    expect(inventory.components).toEqual([
      { id: 'COMP-001', kind: 'text-input', label: 'Email', screen: 'SCR-001', elementId: 'email-field' },
      {
        id: 'COMP-002',
        kind: 'button',
        label: 'submit-button',
        screen: 'SCR-001',
        elementId: 'submit-button',
      },
      { id: 'COMP-003', kind: 'link', label: 'Forgot password?', screen: 'SCR-001', elementId: 'help-link' },
    ]);
    expect(inventory.texts).toEqual(['Email', 'Forgot password?']);
  });
});
