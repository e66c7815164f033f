// The pure parts of the watch reader: stream order, snapshot visibility (as PostgreSQL's
// pg_visible_in_snapshot decides it), and how many statements the distinct searches of a Kind's streams
// take.
import { describe, expect, it } from 'vitest';
import { chunks } from '../../src/kinds/framework/watch-hub.ts';
import { isAfter, type Snapshot, visibleIn } from '../../src/kinds/framework/watch-query.ts';

describe('isAfter', () => {
  it('orders by transaction, then by seq within one', () => {
    expect(isAfter({ txid: 11n, seq: 1n }, { txid: 10n, seq: 9n })).toBe(true);
    expect(isAfter({ txid: 10n, seq: 2n }, { txid: 10n, seq: 1n })).toBe(true);
    expect(isAfter({ txid: 10n, seq: 1n }, { txid: 10n, seq: 1n })).toBe(false);
    expect(isAfter({ txid: 9n, seq: 99n }, { txid: 10n, seq: 0n })).toBe(false);
  });

  it('compares 64-bit transaction ids beyond 2^53 exactly', () => {
    const big = 2n ** 60n;
    expect(isAfter({ txid: big + 1n, seq: 0n }, { txid: big, seq: 5n })).toBe(true);
  });
});

describe('visibleIn', () => {
  // xmin 100, xmax 110, 103 and 107 still running when the snapshot was taken.
  const snapshot: Snapshot = { xmin: 100n, xmax: 110n, running: new Set([103n, 107n]) };

  it('sees what committed before it: below xmin, or below xmax and not running', () => {
    expect(visibleIn(snapshot, 99n)).toBe(true);
    expect(visibleIn(snapshot, 101n)).toBe(true);
    expect(visibleIn(snapshot, 109n)).toBe(true);
  });

  it('does not see what was running, nor anything from xmax on', () => {
    expect(visibleIn(snapshot, 103n)).toBe(false);
    expect(visibleIn(snapshot, 107n)).toBe(false);
    expect(visibleIn(snapshot, 110n)).toBe(false);
    expect(visibleIn(snapshot, 500n)).toBe(false);
  });
});

describe('chunks', () => {
  const filters = (counts: number[]): [string, { parameters: number }][] =>
    counts.map((parameters, n) => [`f${n}`, { parameters }]);
  const sizes = (groups: unknown[][]): number[] => groups.map((group) => group.length);

  it('puts up to 500 searches in one statement', () => {
    expect(sizes(chunks(filters(Array(500).fill(1))))).toEqual([500]);
    expect(sizes(chunks(filters(Array(1201).fill(1))))).toEqual([500, 500, 201]);
    expect(chunks(filters([]))).toEqual([]);
  });

  it('starts a new statement before the parameters pass 30,000', () => {
    expect(sizes(chunks(filters([20_000, 10_000, 1])))).toEqual([2, 1]);
    expect(sizes(chunks(filters([29_999, 2, 29_999])))).toEqual([1, 1, 1]);
  });

  it('gives a search with more parameters than a statement allows a statement of its own', () => {
    expect(sizes(chunks(filters([1, 40_000, 1])))).toEqual([1, 1, 1]);
  });
});
