// Progress of the long steps of a command (the first start of the embedded PostgreSQL, generate, clone),
// on stderr. In a terminal, each step is a line with a spinner, rewritten as `✔ step (1.2s)` or
// `✖ step` when it ends. Anywhere else (a pipe, CI, a log collector) nothing is written: the command's
// output and logs already say what happened, and spinner frames would only clutter them.

// Runs one step of work under a label; returns what the work returns.
export type Step = <T>(label: string, work: () => T | Promise<T>) => Promise<T>;

// Runs the work and shows nothing: what code that may run outside a terminal takes by default.
export const quietStep: Step = async (_label, work) => await work();

const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const clearLine = '\r\x1b[K';

export interface ProgressStream {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

export function terminalSteps(stream: ProgressStream = process.stderr): Step {
  if (!stream.isTTY) return quietStep;
  return async (label, work) => {
    const started = Date.now();
    let frame = 0;
    const draw = (): void => {
      stream.write(`${clearLine}${frames[frame++ % frames.length]} ${label}…`);
    };
    draw();
    const spinner = setInterval(draw, 100);
    try {
      // Let the first frame reach the terminal before synchronous work (a file copy) holds the thread.
      await new Promise((resolve) => setImmediate(resolve));
      const result = await work();
      stream.write(`${clearLine}✔ ${label} (${((Date.now() - started) / 1000).toFixed(1)}s)\n`);
      return result;
    } catch (error) {
      stream.write(`${clearLine}✖ ${label}\n`);
      throw error;
    } finally {
      clearInterval(spinner);
    }
  };
}
