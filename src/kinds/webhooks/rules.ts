import { callerMay, currentContext } from '../../context/request-context.ts';
import { ApiError, validationFailed } from '../../errors/catalogue.ts';
import type { KindDefinition } from '../framework/kind.ts';
import type { KindRules } from '../framework/rules.ts';
import { checkFilter, filterOf, unlistableKind } from './filter.ts';
import type { webhookKind } from './model.ts';
import { isStandardSecret } from './signature.ts';
import { checkTargetUrl } from './target-url.ts';

// A webhook's target and filter are checked when they are written, so a mistake is a 400 to the person
// making it rather than a delivery failure later. Whoever writes a webhook becomes its owner, and must
// be allowed to list every Kind it names (403 code 4 otherwise), on every write.
export function webhookRules(
  allowedHosts: readonly string[],
  kinds: readonly KindDefinition[],
): KindRules<typeof webhookKind.fields> {
  return {
    async check(values, changed) {
      if (changed.includes('url')) await checkTargetUrl(String(values.url), allowedHosts);
      for (const field of ['secret', 'previous_secret'] as const) {
        const value = values[field];
        if (
          changed.includes(field) &&
          typeof value === 'string' &&
          value.startsWith('whsec_') &&
          !isStandardSecret(value)
        ) {
          throw validationFailed(
            `${field} starts with whsec_, so the rest must be base64 (a Standard Webhooks secret)`,
          );
        }
      }
      const filter = filterOf(values);
      if (['sources', 'event_types', 'search'].some((field) => changed.includes(field))) {
        checkFilter(filter, kinds);
      }
      const hidden = unlistableKind(filter, kinds, (kind) => callerMay(kind.name, 'list'));
      if (hidden) {
        throw new ApiError(
          'Forbidden',
          `Account '${currentContext().actor}' may not list ${hidden.name}, which this webhook's sources or search reach`,
        );
      }
    },
  };
}
