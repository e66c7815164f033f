import { GeneratorError } from './errors.ts';
import type { KindNames } from './names.ts';

const listPattern = /(export const plugins = \[)([^\]]*)(\] as const satisfies readonly KindPlugin\[\];)/;

// Adds a Kind's import and its entry to the plugin list of src/kinds/plugins.ts; unchanged when present.
export function addPluginEntry(source: string, names: KindNames): string {
  const plugin = `${names.camel}Plugin`;
  const match = listPattern.exec(source);
  if (!match)
    throw new GeneratorError(
      'src/kinds/plugins.ts has no `export const plugins = [...] as const satisfies readonly KindPlugin[];` list',
    );
  const entries = (match[2] ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.includes(plugin)) return source;
  const list = `${match[1]}${[...entries, plugin].join(', ')}${match[3]}`;
  const importLine = `import { ${plugin} } from './${names.plural}/plugin.ts';\n`;
  const withList = source.replace(listPattern, list);
  const lastImport = withList.lastIndexOf('\nimport ');
  const insertAt = withList.indexOf('\n', withList.indexOf(';', lastImport)) + 1;
  return withList.slice(0, insertAt) + importLine + withList.slice(insertAt);
}
