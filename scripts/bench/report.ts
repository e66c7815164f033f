// The benchmark's figures: tables on stdout, and the same as JSON with --out.
import type { LoadResult } from './load.ts';

export interface Report {
  readonly machine: string;
  readonly seconds: number;
  readonly workloads: readonly {
    readonly name: string;
    readonly trex: LoadResult;
    readonly baseline: LoadResult | undefined;
    readonly minimumRatio: number | undefined;
    readonly maximumP99Ratio: number | undefined;
  }[];
  readonly rawQueriesPerSecond: number;
  // Each of the following is absent when --only left out what measures it.
  readonly eventLatency?: {
    readonly perSecond: number; // the pace asked for
    readonly achievedPerSecond: number; // creates answered 201 per second
    readonly maxSendLagMs: number;
    readonly createErrors: number;
    readonly events: number;
    readonly unhandled: number;
    readonly p50Ms: number;
    readonly p99Ms: number;
  };
  // Waiting events (unreconciled, not failed) around TRex's measured turns of the create workload.
  readonly createBacklog?: {
    readonly createsPerSecond: number;
    readonly waitingBefore: number; // before the workload (and its warm-up) began
    readonly grewBy: number; // summed over TRex's turns
    readonly waitingAtEnd: number; // at the end of its last turn
  };
  readonly backlog?: { readonly waitingAfterLoad: number; readonly handledPerSecond: number };
  readonly pipeline?: {
    readonly items: number; // waiting when each drain starts
    readonly turns: number; // drains of each side at each concurrency
    readonly runs: readonly PipelineRun[];
  };
  // The same reads without and with --tenant-claim (scripts/bench/tenancy.ts).
  readonly tenancy?: readonly {
    readonly name: string;
    readonly without: LoadResult;
    readonly with: LoadResult;
  }[];
  readonly rssMb?: number; // TRex's peak resident set size
  readonly heapMb?: number; // the largest size of its V8 heap seen after a workload
}

export interface PipelineRun {
  readonly concurrency: number;
  readonly graphile: PipelineSide;
  readonly trex: PipelineSide;
  readonly ratio: number; // TRex's items/s over graphile-worker's
}

export interface PipelineSide {
  readonly itemsPerSecond: number; // over all its turns
  readonly seconds: number; // all its turns' drains together
  readonly left: number; // items not done when timing stopped, over all its turns
  readonly connections: Record<string, number>; // the most seen at once in a turn, by application_name
  readonly rssMb?: number; // the process's peak resident set size, the highest of its turns
}

export const eventLatencyP99TargetMs = 50;
export const pipelineMinimumRatio = 1;

export function ratio(trex: LoadResult, baseline: LoadResult | undefined): number | undefined {
  return baseline && baseline.requestsPerSecond > 0
    ? Math.round((trex.requestsPerSecond / baseline.requestsPerSecond) * 100) / 100
    : undefined;
}

export function printReport(report: Report): void {
  const output = [
    `machine: ${report.machine}; ${report.seconds} s per workload, 64 connections`,
    ...(report.workloads.length > 0 ? [...workloadTable(report.workloads), ''] : []),
    `raw pg (16 clients, select by id): ${report.rawQueriesPerSecond} queries/s`,
    ...(report.eventLatency ? [eventLatencyLine(report.eventLatency)] : []),
    ...(report.createBacklog ? [createBacklogLine(report.createBacklog)] : []),
    ...(report.backlog
      ? [
          `event backlog between turns (each turn waits until none is left): up to ${report.backlog.waitingAfterLoad} waiting, handled at ${report.backlog.handledPerSecond}/s with no requests coming in`,
        ]
      : []),
    ...(report.rssMb !== undefined
      ? [
          `TRex peak RSS: ${report.rssMb} MB${report.heapMb ? `; V8 heap up to ${report.heapMb} MB` : ''} (target < 150 MB: ${verdict(report.rssMb < 150)})`,
        ]
      : []),
    ...(report.pipeline ? ['', ...pipelineTable(report.pipeline)] : []),
    ...(report.tenancy ? ['', ...tenancyTable(report.tenancy)] : []),
  ];
  process.stdout.write(`${output.join('\n')}\n`);
}

function workloadTable(workloads: Report['workloads']): string[] {
  const withGc = workloads.some(({ trex }) => trex.kbAllocatedPerRequest !== undefined);
  const share = (value: number | undefined): string =>
    value === undefined ? '' : `${(value * 100).toFixed(1)}%`;
  const header = [
    'workload',
    'req/s',
    'p50 ms',
    'p99 ms',
    'errors',
    'CPU µs/req',
    'bare req/s',
    'bare p99',
    'bare CPU µs/req',
    ...(withGc ? ['KB/req', 'GC share', 'bare KB/req', 'bare GC share'] : []),
    'ratio',
    'target',
  ];
  const lines = workloads.map(({ name, trex, baseline, minimumRatio, maximumP99Ratio }) => {
    const r = ratio(trex, baseline);
    const verdicts: string[] = [];
    if (minimumRatio !== undefined && r !== undefined)
      verdicts.push(`${verdict(r >= minimumRatio)} (ratio ≥ ${minimumRatio})`);
    if (maximumP99Ratio !== undefined && baseline) {
      verdicts.push(
        `${verdict(trex.p99Ms <= baseline.p99Ms * maximumP99Ratio)} (p99 ≤ ${maximumP99Ratio}× bare)`,
      );
    }
    return [
      name,
      String(trex.requestsPerSecond),
      String(trex.p50Ms),
      String(trex.p99Ms),
      String(trex.errors),
      String(trex.cpuUsPerRequest ?? ''),
      baseline ? String(baseline.requestsPerSecond) : '',
      baseline ? String(baseline.p99Ms) : '',
      String(baseline?.cpuUsPerRequest ?? ''),
      ...(withGc
        ? [
            String(trex.kbAllocatedPerRequest ?? ''),
            share(trex.gcShare),
            String(baseline?.kbAllocatedPerRequest ?? ''),
            share(baseline?.gcShare),
          ]
        : []),
      r === undefined ? '' : r.toFixed(2),
      verdicts.join(', '),
    ];
  });
  return table(header, lines);
}

// Tenancy may cost at most 10% of a read's throughput.
export const tenancyMinimumRatio = 0.9;

function tenancyTable(rows: NonNullable<Report['tenancy']>): string[] {
  const header = ['tenancy', 'req/s without', 'p99 without', 'req/s with', 'p99 with', 'ratio', 'target'];
  const lines = rows.map((row) => {
    const r = ratio(row.with, row.without) ?? 0;
    return [
      row.name,
      String(row.without.requestsPerSecond),
      String(row.without.p99Ms),
      String(row.with.requestsPerSecond),
      String(row.with.p99Ms),
      r.toFixed(2),
      `${verdict(r >= tenancyMinimumRatio)} (ratio ≥ ${tenancyMinimumRatio})`,
    ];
  });
  return table(header, lines);
}

function pipelineTable(pipeline: NonNullable<Report['pipeline']>): string[] {
  const header = [
    'concurrency',
    'TRex items/s',
    'TRex connections',
    'graphile items/s',
    'graphile connections',
  ];
  const lines = pipeline.runs.map((run) => [
    String(run.concurrency),
    itemsCell(run.trex),
    connectionsCell(run.trex.connections),
    itemsCell(run.graphile),
    connectionsCell(run.graphile.connections),
    run.ratio.toFixed(2),
    `${verdict(run.ratio >= pipelineMinimumRatio)} (ratio ≥ ${pipelineMinimumRatio})`,
  ]);
  return [
    `event pipeline: ${pipeline.items.toLocaleString('en')} waiting items drained ${pipeline.turns} times by each side in turns, each item one select by id (TRex: events through \`trex serve\`; graphile-worker 0.18.0: jobs)`,
    ...table([...header, 'ratio', 'target'], lines),
  ];
}

const itemsCell = (side: PipelineSide): string =>
  `${side.itemsPerSecond}${side.left > 0 ? ` (${side.left} left)` : ''}`;

// "7 (trex 6, trex-listener 1)"
function connectionsCell(connections: Record<string, number>): string {
  const names = Object.keys(connections).sort();
  const total = names.reduce((sum, name) => sum + (connections[name] ?? 0), 0);
  return `${total} (${names.map((name) => `${name} ${connections[name]}`).join(', ')})`;
}

function table(header: string[], lines: string[][]): string[] {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...lines.map((line) => (line[column] ?? '').length)),
  );
  const format = (cells: string[]): string =>
    `| ${cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  return [format(header), format(widths.map((width) => '-'.repeat(width))), ...lines.map(format)];
}

const verdict = (met: boolean): string => (met ? 'met' : 'MISSED');

function eventLatencyLine(latency: NonNullable<Report['eventLatency']>): string {
  const met = verdict(latency.p99Ms <= eventLatencyP99TargetMs && latency.unhandled === 0);
  return `event latency at ${latency.perSecond} creates/s paced (achieved ${latency.achievedPerSecond}/s, sends up to ${latency.maxSendLagMs} ms late): p50 ${latency.p50Ms} ms, p99 ${latency.p99Ms} ms over ${latency.events} events (${latency.unhandled} unhandled, ${latency.createErrors} create errors) (target p99 ≤ ${eventLatencyP99TargetMs} ms: ${met})`;
}

function createBacklogLine(backlog: NonNullable<Report['createBacklog']>): string {
  return `create workload: ${backlog.createsPerSecond} creates/s; backlog grew by ${backlog.grewBy} events over TRex's turns (${backlog.waitingAtEnd} waiting at its end, ${backlog.waitingBefore} before it) (target no growth: ${verdict(backlog.grewBy <= 0)})`;
}
