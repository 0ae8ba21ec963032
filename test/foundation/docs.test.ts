import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// The README is for a newcomer: short, the two commands on its first screen, every npm script in
// its command table. Detail lives in docs/, and what the docs name must exist: a moved file or a
// new setting breaks this test rather than a reader's trust.

const root = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');
const readme = read('README.md');
const docFiles = ['README.md', ...readdirSync(path.join(root, 'docs')).map((name) => `docs/${name}`)];

/** README lines a terminal shows before scrolling. */
const FIRST_SCREEN_LINES = 40;
const README_MAX_LINES = 150;
/** Folders at the top of the tree that are not the project's own (generated, local state). */
const NOT_SOURCE = new Set(['node_modules', '.git', '.next', '.data', 'test-results', 'playwright-report']);

const topLevel = new Set(readdirSync(root).filter((name) => !NOT_SOURCE.has(name)));

function basenamesUnder(dir: string, into = new Set<string>()): Set<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (NOT_SOURCE.has(entry.name) || entry.name.startsWith('.next')) continue;
    if (entry.isDirectory()) basenamesUnder(path.join(dir, entry.name), into);
    else into.add(entry.name);
  }
  return into;
}

/** Inline code spans outside fenced blocks. */
function codeSpans(markdown: string): string[] {
  const prose = markdown.replace(/```[\s\S]*?```/g, '');
  return [...prose.matchAll(/`([^`\n]+)`/g)].map((match) => match[1] ?? '');
}

/** `lib/config.ts`'s variables, read from its schema's source (top-level keys of `envSchema`). */
function configVariables(): string[] {
  const source = read('lib/config.ts');
  const start = source.indexOf('const envSchema = z.object({');
  const end = source.indexOf('\n});', start);
  expect(start, 'envSchema not found in lib/config.ts').toBeGreaterThan(-1);
  return [...source.slice(start, end).matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((match) => match[1] ?? '');
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces as hyphens. */
const anchorOf = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');

describe('README.md', () => {
  it(`stays within ${README_MAX_LINES} lines, with the two commands on its first screen`, () => {
    const lines = readme.split('\n');
    expect(lines.length).toBeLessThanOrEqual(README_MAX_LINES);
    const firstScreen = lines.slice(0, FIRST_SCREEN_LINES).join('\n');
    expect(firstScreen).toContain('npm install && npm start');
    expect(firstScreen).toContain('npm test');
  });

  it('names every npm script a user or operator runs', () => {
    const { scripts } = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    const lifecycle = new Set(['postinstall']);
    const missing = Object.keys(scripts).filter(
      (name) =>
        !lifecycle.has(name) &&
        !readme.includes(`run ${name}`) &&
        !readme.includes(`\`${name}\``) &&
        !readme.includes(`npm ${name}`),
    );
    expect(missing, 'add these scripts to the README command table').toEqual([]);
  });
});

describe('docs/configuration.md', () => {
  it('names every variable lib/config.ts reads', () => {
    const reference = read('docs/configuration.md');
    const variables = configVariables();
    expect(variables.length).toBeGreaterThan(50);
    const missing = variables.filter((name) => !reference.includes(`\`${name}\``));
    expect(missing, 'document these in docs/configuration.md').toEqual([]);
  });
});

describe('README.md and docs/', () => {
  it('name only files that exist', () => {
    const basenames = basenamesUnder(root);
    const missing: string[] = [];
    for (const file of docFiles) {
      for (const span of codeSpans(read(file))) {
        if (/[\s…<>*|$]/.test(span)) continue; // a pattern or a command, not a path
        const first = span.split('/')[0] ?? '';
        if (span.includes('/') && topLevel.has(first)) {
          if (!existsSync(path.join(root, span))) missing.push(`${file}: ${span}`);
        } else if (!span.includes('/') && /^[\w.-]+\.(ts|tsx|mjs|cjs|md|sol|json)$/.test(span)) {
          if (!topLevel.has(span) && !basenames.has(span)) missing.push(`${file}: ${span}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it('link only to files and headings that exist', () => {
    const broken: string[] = [];
    for (const file of docFiles) {
      const prose = read(file).replace(/```[\s\S]*?```/g, '');
      for (const [, target = ''] of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target)) continue; // an absolute URL
        const [filePart, anchor] = target.split('#');
        const resolved = filePart ? path.join(path.dirname(path.join(root, file)), filePart) : path.join(root, file);
        if (!existsSync(resolved)) {
          broken.push(`${file}: ${target}`);
          continue;
        }
        if (anchor) {
          const headings = [...readFileSync(resolved, 'utf8').matchAll(/^#{1,6} (.+)$/gm)].map((match) =>
            anchorOf(match[1] ?? ''),
          );
          if (!headings.includes(anchor)) broken.push(`${file}: ${target} (no such heading)`);
        }
      }
    }
    expect(broken).toEqual([]);
  });
});
