// The benchmark's figures: a table on stdout, and the same as JSON with --out.
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
  // Absent when --only picked some workloads.
  readonly eventLatency?: {
    readonly perSecond: number;
    readonly createErrors: number;
    readonly events: number;
    readonly unhandled: number;
    readonly p50Ms: number;
    readonly p99Ms: number;
  };
  readonly backlog?: { readonly waitingAfterLoad: number; readonly handledPerSecond: number };
  readonly rssMb: number; // TRex's peak resident set size
  readonly heapMb: number; // the largest size of its V8 heap seen after a workload
}

export function ratio(trex: LoadResult, baseline: LoadResult | undefined): number | undefined {
  return baseline && baseline.requestsPerSecond > 0
    ? Math.round((trex.requestsPerSecond / baseline.requestsPerSecond) * 100) / 100
    : undefined;
}

export function printReport(report: Report): void {
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
    'ratio',
    'target',
  ];
  const lines = report.workloads.map(({ name, trex, baseline, minimumRatio, maximumP99Ratio }) => {
    const r = ratio(trex, baseline);
    const verdicts: string[] = [];
    if (minimumRatio !== undefined && r !== undefined)
      verdicts.push(`${r >= minimumRatio ? 'met' : 'MISSED'} (ratio ≥ ${minimumRatio})`);
    if (maximumP99Ratio !== undefined && baseline) {
      const met = trex.p99Ms <= baseline.p99Ms * maximumP99Ratio;
      verdicts.push(`${met ? 'met' : 'MISSED'} (p99 ≤ ${maximumP99Ratio}× bare)`);
    }
    const verdict = verdicts.join(', ');
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
      r === undefined ? '' : r.toFixed(2),
      verdict,
    ];
  });
  const widths = header.map((title, column) =>
    Math.max(title.length, ...lines.map((line) => (line[column] ?? '').length)),
  );
  const format = (cells: string[]): string =>
    `| ${cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  const output = [
    `machine: ${report.machine}; ${report.seconds} s per workload, 64 connections`,
    format(header),
    format(widths.map((width) => '-'.repeat(width))),
    ...lines.map(format),
    '',
    `raw pg (16 clients, select by id): ${report.rawQueriesPerSecond} queries/s`,
    ...(report.eventLatency ? [eventLatencyLine(report.eventLatency)] : []),
    ...(report.backlog
      ? [
          `event backlog after the write workloads: ${report.backlog.waitingAfterLoad} waiting, handled at ${report.backlog.handledPerSecond}/s once the load stops`,
        ]
      : []),
    `TRex peak RSS: ${report.rssMb} MB${report.heapMb > 0 ? `; V8 heap up to ${report.heapMb} MB` : ''} (target < 150 MB: ${report.rssMb < 150 ? 'met' : 'MISSED'})`,
  ];
  process.stdout.write(`${output.join('\n')}\n`);
}

function eventLatencyLine(latency: NonNullable<Report['eventLatency']>): string {
  return `event latency at ${latency.perSecond} creates/s: p50 ${latency.p50Ms} ms, p99 ${latency.p99Ms} ms over ${latency.events} events (${latency.unhandled} unhandled, ${latency.createErrors} create errors)`;
}
