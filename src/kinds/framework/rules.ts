import type { Fields } from './fields.ts';
import type { CheckedValues } from './kind.ts';

/**
 * Rules a Kind adds beyond its field types (a URL on an operator's allow-list, a filter that must
 * parse). The service checks them on every create and on every patch that changes something, before
 * writing; a broken rule throws an ApiError (a 400 naming the field, e.g. `validationFailed(...)`).
 */
export interface KindRules<F extends Fields = Fields> {
  /**
   * `values`: every field as the row will be after the write; `changed`: the fields this write sets,
   * so a rule may skip work (a DNS lookup) for a field left as it was.
   */
  check(values: CheckedValues<F>, changed: readonly string[]): Promise<void>;
}
