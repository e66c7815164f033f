// The machine a benchmark ran on, as its report's first line names it.
import os from 'node:os';

export function machine(): string {
  return `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}
