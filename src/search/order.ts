import { SearchError } from './errors.ts';
import { type ResolvedField, resolveField, type Searchable } from './searchable.ts';

export interface OrderTerm {
  readonly field: ResolvedField;
  readonly direction: 'asc' | 'desc';
}

// `orderBy=species desc, created_at`: a comma list of allowed fields, each optionally asc or desc
// (case-insensitive). Every bad item is refused with rh-trex's reason `bad order value '<item>'`.
export function parseOrderBy(text: string, searchable: Searchable): OrderTerm[] {
  return text.split(',').map((raw) => {
    const item = raw.trim();
    const match = /^([A-Za-z_][A-Za-z0-9_.]*)(?:\s+(asc|desc))?$/i.exec(item);
    const bad = (): SearchError => new SearchError(`bad order value '${item}'`);
    if (!match?.[1]) throw bad();
    try {
      const field = resolveField(searchable, match[1].split('.'));
      return { field, direction: (match[2]?.toLowerCase() ?? 'asc') as 'asc' | 'desc' };
    } catch {
      throw bad();
    }
  });
}
