import { readFileSync } from 'node:fs';

// A Containerfile read into its stages, enough for tests to check it and to replay its steps.

export interface Instruction {
  readonly keyword: string; // upper case: FROM, RUN, COPY, ...
  readonly text: string; // everything after the keyword, continuation lines joined
}

export interface Stage {
  readonly name: string;
  readonly image: string; // as written, ARGs substituted
  readonly instructions: readonly Instruction[];
}

export interface Containerfile {
  readonly args: Readonly<Record<string, string>>; // the ARGs before the first FROM, with their defaults
  readonly stages: readonly Stage[];
}

export interface Copy {
  readonly from: string | undefined;
  readonly sources: readonly string[];
  readonly destination: string;
}

export function readContainerfile(path: string): Containerfile {
  const args: Record<string, string> = {};
  const stages: { name: string; image: string; instructions: Instruction[] }[] = [];
  for (const { keyword, text } of instructions(readFileSync(path, 'utf8'))) {
    if (keyword === 'FROM') {
      const [image = '', , name = String(stages.length)] = text.split(/\s+/);
      stages.push({
        name,
        image: image.replace(/\$\{(\w+)\}/g, (_, arg: string) => args[arg] ?? ''),
        instructions: [],
      });
    } else if (stages.length === 0 && keyword === 'ARG') {
      const [name = '', value = ''] = text.split('=');
      args[name] = value;
    } else {
      stages.at(-1)?.instructions.push({ keyword, text });
    }
  }
  return { args, stages };
}

export function stage(file: Containerfile, name: string): Stage {
  const found = file.stages.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`no stage '${name}'`);
  return found;
}

export function all(stage: Stage, keyword: string): string[] {
  return stage.instructions.filter((instruction) => instruction.keyword === keyword).map(({ text }) => text);
}

// `ENV A=1 B=2` instructions of a stage, as one map.
export function environment(stage: Stage): Record<string, string> {
  const result: Record<string, string> = {};
  for (const text of all(stage, 'ENV')) {
    for (const [, name = '', value = ''] of text.matchAll(/(\w+)=("[^"]*"|\S*)/g)) {
      result[name] = value.replace(/^"(.*)"$/, '$1');
    }
  }
  return result;
}

export function copies(stage: Stage): Copy[] {
  return all(stage, 'COPY').map((text) => {
    const words = text.split(/\s+/);
    const from = words[0]?.startsWith('--from=') ? words.shift()?.slice('--from='.length) : undefined;
    const destination = words.pop() ?? '';
    return { from, sources: words, destination };
  });
}

// The JSON (exec) form of ENTRYPOINT or CMD.
export function execForm(stage: Stage, keyword: 'ENTRYPOINT' | 'CMD'): string[] {
  const [text] = all(stage, keyword);
  return JSON.parse(text ?? 'null') as string[];
}

function instructions(source: string): Instruction[] {
  const joined = source
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), text: rest.join(' ') };
    });
}
