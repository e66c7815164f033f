import type { Command } from 'commander';
import { developmentKey } from '../auth/dev-key.ts';

// `trex token`: a token signed by the development key, which `trex serve --enable-jwt` trusts in the
// development environment, so auth can be tried locally in two commands.
export function tokenCommand(program: Command): void {
  program
    .command('token')
    .description('Print a JWT signed by the development key under .trex/ (development only)')
    .option('--username <name>', 'the username claim', 'developer')
    .option('--expires-in <duration>', 'lifetime, e.g. 1h, 30m, 7d', '1h')
    .option('--claim <name=value...>', 'more claims (repeatable), e.g. --claim groups=admins')
    .action(async (options: { username: string; expiresIn: string; claim?: string[] }) => {
      const claims: Record<string, string> = {
        username: options.username,
        preferred_username: options.username,
      };
      for (const pair of options.claim ?? []) {
        const [name, ...value] = pair.split('=');
        if (!name || value.length === 0) throw new Error(`--claim ${pair}: expected name=value`);
        claims[name] = value.join('=');
      }
      if (!/^\d+[smhdw]$/.test(options.expiresIn))
        throw new Error(`--expires-in ${options.expiresIn}: expected e.g. 30m, 1h, 7d`);
      const key = await developmentKey();
      process.stdout.write(`${await key.sign(claims, options.expiresIn)}\n`);
    });
}
