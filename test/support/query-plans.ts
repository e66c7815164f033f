// What PostgreSQL plans for a statement, as a flat list of plan nodes, for tests that an index is used.
import pg from 'pg';
import type { TestDatabase } from './database.ts';

export interface PlanNode {
  readonly 'Node Type': string;
  readonly 'Relation Name'?: string;
  readonly 'Index Name'?: string;
  readonly Plans?: PlanNode[];
}

export interface PlannedStatement {
  readonly nodes: PlanNode[];
  readonly text: string; // the whole plan as JSON, for failure messages
}

// With `generic`, the plan PostgreSQL keeps for a statement prepared once and run many times (as the
// service's named statements are): made without the parameters' values.
export async function planOf(
  database: TestDatabase,
  statement: { readonly sql: string; readonly parameters: readonly unknown[] },
  options: { readonly generic?: boolean } = {},
): Promise<PlannedStatement> {
  let row: { 'QUERY PLAN': { Plan: PlanNode }[] } | undefined;
  if (options.generic) {
    const client = new pg.Client(database.url);
    await client.connect();
    try {
      await client.query('set plan_cache_mode = force_generic_plan');
      await client.query({ name: 'planned', text: statement.sql, values: [...statement.parameters] });
      // EXECUTE takes its values in its text (a utility statement has no parameters).
      const literal = (value: unknown): string =>
        client.escapeLiteral(value instanceof Date ? value.toISOString() : String(value));
      const explained = await client.query<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(
        `explain (format json) execute planned(${statement.parameters.map(literal).join(', ')})`,
      );
      row = explained.rows[0];
    } finally {
      await client.end();
    }
  } else {
    [row] = await database.query<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(
      `explain (format json) ${statement.sql}`,
      [...statement.parameters],
    );
  }
  const plan = row?.['QUERY PLAN'][0]?.Plan as PlanNode;
  const flatten = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(flatten)];
  return { nodes: flatten(plan), text: JSON.stringify(plan) };
}
