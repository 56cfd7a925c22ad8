import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const read = (path: string) => readFileSync(fileURLToPath(new URL(path, import.meta.url)), 'utf8');

it.each(['speaker-app', 'listener-app'])('README lists every data-testid of %s', (app) => {
  const readme = read('../../README.md');
  const ids = [...read(`../../${app}/index.html`).matchAll(/data-testid="([\w-]+)"/g)].map((m) => m[1]);
  expect(ids.length).toBeGreaterThan(10);
  for (const id of ids) expect(readme).toContain(`\`${id}\``);
});
