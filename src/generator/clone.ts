import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { serviceName } from '../service-name.ts';
import { GeneratorError } from './errors.ts';
import { formatFiles } from './generated-files.ts';

export interface CloneOptions {
  readonly root: string;
  readonly name: string;
  readonly destination: string;
}

// Files that name nothing but the service (its image and Kubernetes objects): every mention is renamed.
const deploymentFiles = /^(deploy\/|Containerfile$)/;

// Never copied: installed packages, local data, build and test output.
const skipped = new Set(['node_modules', '.git', '.trex', 'dist', 'test-results', 'coverage']);

// `trex clone`: a copy of the project whose service is called `name`: the API root, the error code
// prefix, the service-name constant and the package name change, in code and docs alike. Mentions of
// rh-trex as the system TRex is modelled on stay. Binary files are copied byte for byte, modes kept.
export function cloneProject(options: CloneOptions): number {
  const { root, name, destination } = options;
  if (!/^[a-z][a-z0-9-]{0,62}[a-z0-9]$/.test(name)) {
    throw new GeneratorError(
      `--name '${name}' must be lower-case letters, digits and dashes, e.g. my-service`,
    );
  }
  if (existsSync(destination) && readdirSync(destination).length > 0) {
    throw new GeneratorError(`--destination ${destination} exists and is not empty`);
  }
  const files = projectFiles(root);
  const changed: string[] = [];
  for (const file of files) {
    const from = join(root, file);
    const to = join(destination, file);
    mkdirSync(dirname(to), { recursive: true });
    const content = readFileSync(from);
    const text = content.includes(0) ? undefined : content.toString('utf8');
    const renamedText = text === undefined ? undefined : renamed(text, name, deploymentFiles.test(file));
    writeFileSync(to, renamedText ?? content);
    chmodSync(to, statSync(from).mode & 0o777);
    if (renamedText !== text) changed.push(to);
  }
  // A longer or shorter name moves lines past or within the formatter's width: the copy's lint passes.
  formatFiles(root, destination, changed);
  return files.length;
}

// `everyMention`: in deployment files, where rh-trex is only ever this service's name.
export function renamed(text: string, name: string, everyMention = false): string {
  const old = regexEscape(serviceName);
  if (everyMention) return text.replace(new RegExp(`\\b${old}\\b`, 'g'), name);
  return text
    .replace(new RegExp(`/api/${old}\\b`, 'g'), `/api/${name}`) // the API root
    .replace(new RegExp(`\\b${old}-(?=[0-9$N{<])`, 'g'), `${name}-`) // error codes: rh-trex-7
    .replace(new RegExp(`(['"\`])${old}\\1`, 'g'), `$1${name}$1`) // the name as a literal: constant, package
    .replace(new RegExp(`\\b${old} (API|service)\\b`, 'g'), `${name} $1`);
}

// The files of the project: what git tracks or would track (ignored files left out), or, outside a git
// checkout, every file but the skipped folders.
function projectFiles(root: string): string[] {
  if (existsSync(join(root, '.git'))) {
    const listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
      cwd: root,
    });
    return listed
      .toString('utf8')
      .split('\0')
      .filter((file) => file !== '' && existsSync(join(root, file)));
  }
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)))
    .filter((file) => !file.split('/').some((part) => skipped.has(part)));
}

function regexEscape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
}
