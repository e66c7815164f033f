import type { KindDefinition } from '../framework/kind.ts';
import type { KindRules } from '../framework/rules.ts';
import { checkFilter, filterOf } from './filter.ts';
import { checkTargetUrl } from './target-url.ts';

// A webhook's target and filter are checked when they are written, so a mistake is a 400 to the person
// making it rather than a delivery failure later.
export function webhookRules(allowedHosts: readonly string[], kinds: readonly KindDefinition[]): KindRules {
  return {
    async check(values, changed) {
      if (changed.includes('url')) await checkTargetUrl(String(values.url), allowedHosts);
      if (['sources', 'event_types', 'search'].some((field) => changed.includes(field))) {
        checkFilter(filterOf(values), kinds);
      }
    },
  };
}
