// The repository stands alone: no file cites a document it does not hold, and every pointer into docs/
// (a markdown link, or `docs/<name>.md#<anchor>` in a comment) names a file and a heading that exist.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = normalize(join(import.meta.dirname, '../..'));

// The product brief this project was built from is not part of it; citations of it are refused. The
// word is assembled so this file does not cite it itself.
const briefCitation = new RegExp(`\\b${'SP'}EC\\b`);
// A bare section number (a section sign and a digit) points into a document nobody can open; an RFC's
// sections are fine.
const bareSection = /(?<!RFC \d+ )§\s*\d/;
// `docs/search.md` or `docs/search.md#the-search-language`, not part of a longer path.
const docsPointer = /(?<![\w./-])docs\/([\w.-]+\.md)(?:#([\p{L}\p{N}_-]+))?/gu;
// Inline links and images: `[text](target)` or `[text](<target> "title")`.
const markdownLink = /!?\[((?:[^[\]]|\[[^[\]]*\])*)\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g;
const referenceDefinition = /^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm;

// What git tracks or would track, or, outside a checkout (a copy of the project), every file but the
// folders git ignores.
function projectFiles(): string[] {
  if (existsSync(join(root, '.git'))) {
    return execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
      cwd: root,
    })
      .toString('utf8')
      .split('\0')
      .filter((file) => file !== '' && existsSync(join(root, file)));
  }
  const skipped = new Set(['node_modules', '.git', '.trex', 'test-results', 'coverage', 'scratch']);
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)))
    .filter((file) => !file.split('/').some((part) => skipped.has(part)));
}

function textOf(file: string): string | undefined {
  const bytes = readFileSync(join(root, file));
  return bytes.subarray(0, 8000).includes(0) ? undefined : bytes.toString('utf8');
}

// GitHub's anchor for a heading: the heading's text without markup, lowercased, every character but
// letters, digits, spaces, hyphens and underscores dropped, each space a hyphen; a repeated slug gets
// -1, -2, ... in order.
function headingSlugs(headings: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return headings.map((heading) => {
    const text = heading
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images: their text
      .replace(/<[^>]+>/g, '') // HTML tags
      .replace(/[`*]/g, ''); // code and emphasis markers
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N} _-]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(slug);
    seen.set(slug, (count ?? -1) + 1);
    return count === undefined ? slug : `${slug}-${count + 1}`;
  });
}

// Blanks what a reader sees as code, keeping every newline so positions keep their lines: fenced blocks
// hold no headings, and neither they nor inline code hold links.
const blank = (text: string): string => text.replace(/[^\n]/g, ' ');
const withoutFences = (markdown: string): string =>
  markdown.replace(/^[ \t]*(```|~~~)[^\n]*\n[\s\S]*?^[ \t]*\1[^\n]*$/gm, blank);
const withoutCode = (markdown: string): string =>
  withoutFences(markdown).replace(/(`+)(?!`)[\s\S]*?[^`]\1(?!`)/g, blank);

const anchorCache = new Map<string, Set<string>>();
function anchorsOf(file: string): Set<string> {
  let anchors = anchorCache.get(file);
  if (!anchors) {
    const prose = withoutFences(readFileSync(join(root, file), 'utf8'));
    const headings = [...prose.matchAll(/^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/gm)].map(
      ([, text]) => text ?? '',
    );
    const named = [...prose.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)].map(([, name]) => name ?? '');
    anchors = new Set([...headingSlugs(headings), ...named]);
    anchorCache.set(file, anchors);
  }
  return anchors;
}

// What is wrong with a pointer to `target` (a path relative to the root) and `anchor`, if anything.
function brokenTarget(target: string, anchor: string | undefined): string | undefined {
  if (target.startsWith('..') || !existsSync(join(root, target))) return `${target} does not exist`;
  if (!anchor || !target.endsWith('.md') || statSync(join(root, target)).isDirectory()) return undefined;
  return anchorsOf(target).has(decodeURIComponent(anchor))
    ? undefined
    : `${target} has no heading whose anchor is #${anchor}`;
}

const lineOf = (text: string, index: number): number => text.slice(0, index).split('\n').length;

function problemsOf(file: string, text: string): string[] {
  const problems: string[] = [];
  text.split('\n').forEach((line, index) => {
    if (briefCitation.test(line))
      problems.push(`${file}:${index + 1}: cites the product brief: ${line.trim()}`);
    if (bareSection.test(line)) problems.push(`${file}:${index + 1}: a bare section number: ${line.trim()}`);
  });
  for (const match of text.matchAll(docsPointer)) {
    const broken = brokenTarget(`docs/${match[1]}`, match[2]);
    if (broken) problems.push(`${file}:${lineOf(text, match.index)}: ${match[0]}: ${broken}`);
  }
  if (file.endsWith('.md')) {
    const prose = withoutCode(text);
    const links = [...prose.matchAll(markdownLink)].map((match) => ({
      target: match[2] ?? '',
      at: match.index,
    }));
    for (const match of prose.matchAll(referenceDefinition))
      links.push({ target: match[1] ?? '', at: match.index });
    for (const { target, at } of links) {
      if (/^[a-z][a-z\d+.-]*:|^\/\//i.test(target)) continue; // a URL: not ours to check
      const [path = '', anchor] = target.split('#', 2);
      const resolved = path === '' ? file : path.startsWith('/') ? path.slice(1) : join(dirname(file), path);
      const broken = brokenTarget(normalize(decodeURIComponent(resolved)), anchor);
      if (broken) problems.push(`${file}:${lineOf(text, at)}: (${target}): ${broken}`);
    }
  }
  return problems;
}

describe('references between files', () => {
  it('computes the anchors GitHub gives headings', () => {
    expect(
      headingSlugs([
        'The HTTP API',
        'ACL (`--acl-file`)',
        'Starting a new service: `trex clone`',
        'Performance (docs/performance.md has the figures)',
        'Methods, HEAD and 405',
        'What creation checks (400, never a failure at delivery time)',
        'Lists',
        'Lists',
        'Lists',
        'snake_case and **bold** [linked](x.md)',
      ]),
    ).toEqual([
      'the-http-api',
      'acl---acl-file',
      'starting-a-new-service-trex-clone',
      'performance-docsperformancemd-has-the-figures',
      'methods-head-and-405',
      'what-creation-checks-400-never-a-failure-at-delivery-time',
      'lists',
      'lists-1',
      'lists-2',
      'snake_case-and-bold-linked',
    ]);
  });

  it('finds a broken link, a missing anchor, a bare section and a citation of the brief', () => {
    // Written in pieces, so this file itself holds none of the mistakes.
    const docs = 'docs/';
    const text = [
      'See [api](api.md#no-such-heading), [gone](gone.md), [ok](errors.md#errors) and [self](#nowhere).',
      '```',
      '[fenced](not-checked.md)',
      '```',
      `\`[code](not-checked.md)\` is code. The brief says in ${'§'}3; RFC 9110 ${'§'}9.3.2 is fine.`,
      `// ${docs}api.md#patch is fine, ${docs}api.md#patches is not; ${'SP'}EC.md is cited.`,
    ].join('\n');
    expect(problemsOf('docs/api.md', text)).toEqual([
      expect.stringMatching(/^docs\/api\.md:5: a bare section number/),
      expect.stringMatching(/^docs\/api\.md:6: cites the product brief/),
      `docs/api.md:6: ${docs}api.md#patches: docs/api.md has no heading whose anchor is #patches`,
      'docs/api.md:1: (api.md#no-such-heading): docs/api.md has no heading whose anchor is #no-such-heading',
      `docs/api.md:1: (gone.md): ${docs}gone.md does not exist`,
      'docs/api.md:1: (#nowhere): docs/api.md has no heading whose anchor is #nowhere',
    ]);
  });

  it('no file cites the brief, and every link and docs/ pointer names a file and heading that exist', () => {
    const problems = projectFiles().flatMap((file) => {
      const text = textOf(file);
      return text === undefined ? [] : problemsOf(file, text);
    });
    expect(problems).toEqual([]);
  });
});
