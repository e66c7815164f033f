import { describe, expect, it } from 'vitest';
import { countApplied, countPreference } from '../../src/kinds/framework/list-params.ts';

describe('the Prefer header of a list', () => {
  it.each([
    ['count=exact', 'exact'],
    ['count=estimated', 'estimated'],
    ['Count=EXACT', 'exact'],
    ['count="estimated"', 'estimated'],
    [' return=minimal , count=exact ; strict', 'exact'],
    ['count=exact, count=estimated', 'exact'],
  ])('%s asks for %s', (header, expected) => {
    expect(countPreference(header)).toBe(expected);
  });

  it.each([
    [undefined],
    [''],
    ['return=minimal'],
    ['count=planned'],
    ['count'],
    ['count=, return=minimal'],
    ['counted=exact'],
  ])('%s asks for nothing', (header) => {
    expect(countPreference(header)).toBeUndefined();
  });

  it('reads every header line of a repeated Prefer', () => {
    expect(countPreference(['return=minimal', 'count=estimated'])).toBe('estimated');
  });

  it('says what the total is', () => {
    expect(countApplied(true)).toBe('count=estimated');
    expect(countApplied(false)).toBe('count=exact');
  });
});
