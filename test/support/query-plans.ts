// What PostgreSQL plans for a statement, as a flat list of plan nodes, for tests that an index is used.
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

export async function planOf(
  database: TestDatabase,
  statement: { readonly sql: string; readonly parameters: readonly unknown[] },
): Promise<PlannedStatement> {
  const [row] = await database.query<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(
    `explain (format json) ${statement.sql}`,
    [...statement.parameters],
  );
  const plan = row?.['QUERY PLAN'][0]?.Plan as PlanNode;
  const flatten = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(flatten)];
  return { nodes: flatten(plan), text: JSON.stringify(plan) };
}
