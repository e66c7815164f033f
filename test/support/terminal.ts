import { execFile } from 'node:child_process';
import { trexBin } from './cli.ts';

// Runs `trex args...` in a real pseudo-terminal (util-linux `script`), as a person at a terminal would:
// stdin, stdout and stderr are all a TTY. Returns what the terminal showed (stdout and stderr together,
// with the terminal's \r\n line ends) and the exit code.
export function runTrexInTerminal(
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<{ code: number | null; screen: string }> {
  const command = [process.execPath, trexBin, ...args].map(shellQuote).join(' ');
  return new Promise((resolve) => {
    execFile(
      'script',
      ['--quiet', '--return', '--command', command, '/dev/null'],
      { cwd: options.cwd, env: options.env, timeout: options.timeoutMs ?? 60_000 },
      (error, stdout) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, screen: stdout });
      },
    );
  });
}

function shellQuote(argument: string): string {
  return `'${argument.replaceAll("'", "'\\''")}'`;
}

// The lines a terminal ends up showing: each carriage return restarts its line, clear-line codes dropped.
export function finalLines(screen: string): string[] {
  return screen
    .replaceAll('\x1b[K', '')
    .split(/\r?\n/)
    .map(
      (line) =>
        line
          .split('\r')
          .filter((part) => part !== '')
          .at(-1) ?? '',
    )
    .filter((line) => line.trim() !== '');
}
