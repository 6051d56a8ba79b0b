import { z } from 'zod';

/** Product types a story can target; `web` is the default. */
export const productTypes = ['web', 'mobile-native', 'mobile-web', 'desktop', 'api'] as const;
export const productTypeSchema = z.enum(productTypes);
export type ProductType = z.infer<typeof productTypeSchema>;

/** The story sections an iteration may patch. The statement and the original text are never patched. */
export const sectionNames = [
  'behaviour',
  'outcomeCriteria',
  'systemCriteria',
  'implementationNotes',
  'openQuestions',
] as const;
export const sectionNameSchema = z.enum(sectionNames);
export type SectionName = z.infer<typeof sectionNameSchema>;

/** Iteration ids in catalog (workflow) order. */
export const iterationIds = [
  'user-roles',
  'interactive-elements',
  'validation',
  'accessibility',
  'performance',
  'security',
  'responsive-web',
  'responsive-native',
  'language-support',
  'locale-formatting',
  'cultural-appropriateness',
  'analytics',
] as const;
export const iterationIdSchema = z.enum(iterationIds);
export type IterationId = z.infer<typeof iterationIdSchema>;

export type IterationCategory = 'core' | 'quality' | 'responsive' | 'i18n' | 'insights';

/** Current models only: `claude-sonnet-4-5` retires on 2026-11-30 and must never be a default. */
export const defaultModels = {
  standard: 'claude-sonnet-5-5',
  economy: 'claude-haiku-5-5',
} as const;

/** One catalog entry: what an iteration is, what it may change and where it applies. */
export interface IterationDefinition {
  id: IterationId;
  name: string;
  category: IterationCategory;
  description: string;
  /** Sections this iteration's patches may touch; anything else is rejected as `wrong_section`. */
  sections: readonly SectionName[];
  productTypes: readonly ProductType[];
  /** Default model; checklist-like iterations run on the cheaper one. */
  defaultModel: string;
  /** What the model is asked to do, beyond the shared instructions. */
  focus: string;
}

const allProducts: readonly ProductType[] = productTypes;
const withUi: readonly ProductType[] = ['web', 'mobile-native', 'mobile-web', 'desktop'];

/**
 * The catalog, in workflow order. Data rather than code paths, so the API, the CLI and the prompt builder all
 * read the same definitions.
 */
export const iterationCatalog: readonly IterationDefinition[] = [
  {
    id: 'user-roles',
    name: 'User roles',
    category: 'core',
    description: 'Who may do what: actors, permissions and what each role sees.',
    sections: ['behaviour', 'outcomeCriteria', 'systemCriteria', 'openQuestions'],
    productTypes: allProducts,
    defaultModel: defaultModels.standard,
    focus:
      'Identify every actor involved (the primary role and any secondary roles such as support staff or administrators). State what each role may and may not do, and how ownership of the objects in the story is enforced.',
  },
  {
    id: 'interactive-elements',
    name: 'Interactive elements',
    category: 'core',
    description: 'Controls, states and feedback the user interacts with.',
    sections: ['behaviour', 'outcomeCriteria', 'implementationNotes'],
    productTypes: withUi,
    defaultModel: defaultModels.standard,
    focus:
      'Describe the controls the user operates for each action in the story, their states (enabled, disabled, in progress), confirmations for destructive actions, and the feedback shown after each action.',
  },
  {
    id: 'validation',
    name: 'Validation',
    category: 'core',
    description: 'Story quality defects and input validation rules.',
    sections: ['outcomeCriteria', 'systemCriteria', 'openQuestions'],
    productTypes: allProducts,
    defaultModel: defaultModels.standard,
    focus:
      'First check the story itself for classic defects: missing benefit ("so that"), several features in one story, vague terms (such as "fast", "user-friendly", "everything"), missing role, and no acceptance criteria. Report each defect as a finding and as an open question. Then add input validation criteria for the data the user provides.',
  },
  {
    id: 'accessibility',
    name: 'Accessibility',
    category: 'quality',
    description: 'WCAG 2.2 AA: keyboard, screen readers, contrast, error identification.',
    sections: ['behaviour', 'outcomeCriteria', 'implementationNotes'],
    productTypes: withUi,
    defaultModel: defaultModels.standard,
    focus:
      'Add criteria that make every action in the story usable with a keyboard alone, with screen readers, with zoom and large text, and without relying on colour, following WCAG 2.2 AA.',
  },
  {
    id: 'performance',
    name: 'Performance',
    category: 'quality',
    description: 'Measurable response times, load and data volume targets.',
    sections: ['outcomeCriteria', 'systemCriteria', 'implementationNotes'],
    productTypes: allProducts,
    defaultModel: defaultModels.standard,
    focus:
      'Replace vague speed wishes with measurable targets (percentile response times, throughput, data volumes) for each action in the story, including behaviour under peak load and slow networks.',
  },
  {
    id: 'security',
    name: 'Security',
    category: 'quality',
    description: 'Authentication, authorisation, data protection and abuse cases.',
    sections: ['outcomeCriteria', 'systemCriteria', 'implementationNotes', 'openQuestions'],
    productTypes: allProducts,
    defaultModel: defaultModels.standard,
    focus:
      'Add criteria for authentication, authorisation of each action on each object, protection of personal and financial data, auditability and abuse cases (enumeration, replay, brute force).',
  },
  {
    id: 'responsive-web',
    name: 'Responsive web',
    category: 'responsive',
    description: 'Layouts from small phones to wide desktops in the browser.',
    sections: ['behaviour', 'outcomeCriteria', 'implementationNotes'],
    productTypes: ['web', 'mobile-web'],
    defaultModel: defaultModels.economy,
    focus:
      'Add criteria for viewport widths from 320 px to wide desktop screens, touch targets, orientation changes and browser zoom for every action in the story.',
  },
  {
    id: 'responsive-native',
    name: 'Responsive native',
    category: 'responsive',
    description: 'Phones and tablets, orientation, dynamic type and app lifecycle.',
    sections: ['behaviour', 'outcomeCriteria', 'implementationNotes'],
    productTypes: ['mobile-native'],
    defaultModel: defaultModels.economy,
    focus:
      'Add criteria for phone and tablet layouts, orientation, safe areas, dynamic type, and what happens when the app is backgrounded or loses connectivity during each action in the story.',
  },
  {
    id: 'language-support',
    name: 'Language support',
    category: 'i18n',
    description: 'Translatable text, supported languages and right-to-left scripts.',
    sections: ['outcomeCriteria', 'systemCriteria', 'openQuestions'],
    productTypes: withUi,
    defaultModel: defaultModels.economy,
    focus:
      'Add criteria so that every text in the story is translatable, the languages to support are explicit, and text expansion and right-to-left scripts do not break the flow.',
  },
  {
    id: 'locale-formatting',
    name: 'Locale formatting',
    category: 'i18n',
    description: 'Dates, times, numbers, currencies and addresses per locale.',
    sections: ['outcomeCriteria', 'systemCriteria', 'implementationNotes'],
    productTypes: allProducts,
    defaultModel: defaultModels.economy,
    focus:
      'Add criteria for how dates, times, time zones, numbers, currencies and addresses in the story are formatted for the user and stored in a locale-neutral form.',
  },
  {
    id: 'cultural-appropriateness',
    name: 'Cultural appropriateness',
    category: 'i18n',
    description: 'Names, imagery, colours and conventions across cultures.',
    sections: ['outcomeCriteria', 'implementationNotes', 'openQuestions'],
    productTypes: withUi,
    defaultModel: defaultModels.economy,
    focus:
      'Add criteria so that names, imagery, icons, colours, examples and tone used in the story work for every target market.',
  },
  {
    id: 'analytics',
    name: 'Analytics',
    category: 'insights',
    description: 'Events and metrics that show whether the story delivers its benefit.',
    sections: ['systemCriteria', 'implementationNotes', 'openQuestions'],
    productTypes: ['web', 'mobile-native', 'mobile-web', 'desktop', 'api'],
    defaultModel: defaultModels.economy,
    focus:
      'Add the events and metrics that show whether the story delivers its benefit: start and completion of each action, failures by category, and the success metric tied to the "so that" clause. No personal data in events.',
  },
];

/** Looks an iteration up by id; throws for ids outside the catalog, which the schema should have caught. */
export function getIteration(id: IterationId): IterationDefinition {
  const definition = iterationCatalog.find((candidate) => candidate.id === id);
  if (!definition) throw new Error(`Iteration ${id} is missing from the catalog.`);
  return definition;
}

/** The iterations that apply to a product type, in workflow (catalog) order. */
export function applicableIterations(productType: ProductType): IterationDefinition[] {
  return iterationCatalog.filter((definition) => definition.productTypes.includes(productType));
}

/**
 * The workflow passes that run over the whole merged story after the iterations: consolidation (duplicates,
 * contradictions, coverage), the whole-story judge (`review`) and the rewrite round it may ask for; and
 * `refinement`, which applies a user's follow-up instruction to a finished story (a conversation turn).
 */
export const workflowPassIds = ['consolidation', 'review', 'rewrite', 'refinement'] as const;
export const workflowPassIdSchema = z.enum(workflowPassIds);
export type WorkflowPassId = z.infer<typeof workflowPassIdSchema>;

/** Who may patch a story: an iteration, or a workflow pass that edits the whole story. */
export type PatchAuthor = IterationId | WorkflowPassId;

const passRules: Record<WorkflowPassId, { name: string; sections: readonly SectionName[] }> = {
  consolidation: { name: 'Consolidation', sections: sectionNames },
  review: { name: 'Review', sections: [] },
  rewrite: { name: 'Rewrite', sections: sectionNames },
  refinement: { name: 'Refinement', sections: sectionNames },
};

/** The display name and the sections an author's patches may touch. */
export function authorRules(author: PatchAuthor): { name: string; sections: readonly SectionName[] } {
  const pass = workflowPassIdSchema.safeParse(author);
  return pass.success ? passRules[pass.data] : getIteration(iterationIdSchema.parse(author));
}

/** Catalog position; workflows run and merge in this order. */
export function catalogIndex(id: IterationId): number {
  return iterationIds.indexOf(id);
}
