/**
 * Skydive's rolling indices (flow-semantics.md §8): for each kind (flow, metric, rawpacket) an
 * alias `<prefix><kind>` pointing at its write index `<prefix><kind>_v13-000001`, then -000002
 * after a rollover, and so on. Searches read every index of the kind through `<prefix><kind>_v13*`.
 *
 * A composable index template gives each new index (the first one and every rollover) the
 * settings and the dynamic-template mapping, so a rollover needs nothing more from us.
 */
import type { Client } from '@elastic/elasticsearch';
import { dynamicTemplates } from './mapping.js';

export const INDEX_KINDS = ['flow', 'metric', 'rawpacket'] as const;
export type IndexKind = (typeof INDEX_KINDS)[number];

/** Skydive's mapping version, part of every index name. */
const MAPPING_VERSION = 'v13';

export class IndexNames {
  constructor(readonly prefix: string) {}

  /** The alias writes go to. */
  alias(kind: IndexKind): string {
    return `${this.prefix}${kind}`;
  }

  /** Every index of the kind, for searches and for the rollover's clean-up. */
  pattern(kind: IndexKind): string {
    return `${this.prefix}${kind}_${MAPPING_VERSION}-*`;
  }

  /** The first index of the kind. */
  first(kind: IndexKind): string {
    return `${this.prefix}${kind}_${MAPPING_VERSION}-000001`;
  }

  template(kind: IndexKind): string {
    return `${this.prefix}${kind}_${MAPPING_VERSION}`;
  }
}

function isAlreadyExists(err: unknown): boolean {
  const type = (err as { body?: { error?: { type?: string } } })?.body?.error?.type;
  return type === 'resource_already_exists_exception';
}

/**
 * Puts the index templates and creates the first index of each kind with its alias, unless the
 * alias exists. Safe to call again (another analyzer, or ours after a restart, may have done it).
 * `signal` aborts the requests (the writer's drain deadline).
 */
export async function ensureIndices(client: Client, names: IndexNames, totalFieldsLimit: number, signal?: AbortSignal): Promise<void> {
  const options = signal === undefined ? {} : { signal };
  for (const kind of INDEX_KINDS) {
    await client.indices.putIndexTemplate({
      name: names.template(kind),
      index_patterns: [names.pattern(kind)],
      // Above the built-in templates' priorities (100-200), so ours wins for our names.
      priority: 500,
      template: {
        settings: { 'index.mapping.total_fields.limit': totalFieldsLimit },
        mappings: { dynamic_templates: dynamicTemplates(), date_detection: false },
      },
    }, options);
    if (await client.indices.existsAlias({ name: names.alias(kind) }, options)) continue;
    try {
      await client.indices.create({
        index: names.first(kind),
        aliases: { [names.alias(kind)]: { is_write_index: true } },
      }, options);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  }
}

/** Deletes every index and index template whose name starts with `prefix` (tests, the bench). */
export async function deleteUnderPrefix(client: Client, prefix: string): Promise<void> {
  // Wildcard deletes are refused by default (action.destructive_requires_name): list, then delete by name.
  const indices = Object.keys(await client.indices.get({ index: `${prefix}*`, allow_no_indices: true, ignore_unavailable: true }));
  if (indices.length > 0) await client.indices.delete({ index: indices.join(',') });
  const templates = await client.indices.getIndexTemplate({ name: `${prefix}*` }, { ignore: [404] });
  for (const { name } of templates.index_templates ?? []) await client.indices.deleteIndexTemplate({ name });
}
