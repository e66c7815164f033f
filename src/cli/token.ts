import type { Command } from 'commander';
import { ConfigError } from '../config/errors.ts';

// `trex token`: a token signed by the development key, which `trex serve --enable-jwt` trusts in the
// development environment, so auth can be tried locally in two commands.
export function tokenCommand(program: Command): void {
  program
    .command('token')
    .summary('Print a JWT signed by the development key under .trex/ (development only)')
    .description(
      'Print a JWT signed by the development key kept under .trex/ (made on first use). In the development ' +
        'environment, `trex serve --enable-jwt` trusts this key when no other key source is configured.',
    )
    .option('--username <name>', 'The username (and preferred_username) claim', 'developer')
    .option('--expires-in <duration>', 'Lifetime: a number and s, m, h, d or w, e.g. 30m, 1h, 7d', '1h')
    .option('--claim <name=value...>', 'More claims (repeatable), e.g. --claim groups=admins')
    .addHelpText(
      'after',
      '\nExample:\n' +
        '  TOKEN=$(npx trex token --username alice) && npx trex serve --enable-jwt &\n' +
        '  curl -H "Authorization: Bearer $TOKEN" localhost:8000/api/rh-trex/v1/dinosaurs',
    )
    .action(async (options: { username: string; expiresIn: string; claim?: string[] }) => {
      const claims: Record<string, string> = {
        username: options.username,
        preferred_username: options.username,
      };
      for (const pair of options.claim ?? []) {
        const [name, ...value] = pair.split('=');
        if (!name || value.length === 0) throw new ConfigError(`--claim ${pair}: expected name=value`);
        claims[name] = value.join('=');
      }
      if (!/^\d+[smhdw]$/.test(options.expiresIn))
        throw new ConfigError(`--expires-in ${options.expiresIn}: expected e.g. 30m, 1h, 7d`);
      // The work is imported when the command runs, so help and usage errors answer without loading it.
      const { developmentKey } = await import('../auth/dev-key.ts');
      const key = await developmentKey();
      process.stdout.write(`${await key.sign(claims, options.expiresIn)}\n`);
    });
}
