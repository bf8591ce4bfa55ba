// The template language of quagga-templates/: substitution, loops, conditionals, comments, standalone tag lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderTemplate, TemplateError } from '../../../src/frr/template.js';

test('substitutes names with their text, numbers included', () => {
  assert.equal(renderTemplate('hostname {{hostname}}\n timers {{a}} {{ b }}\n', { hostname: 'node1', a: 0, b: 50 }), 'hostname node1\n timers 0 50\n');
});

test('a line holding only a block tag or a comment leaves no trace', () => {
  const source = ['{{! header comment', '    spanning two lines }}', 'a', '  {{#each items}}', 'item {{name}}', '  {{/each}}', 'b', ''].join('\n');
  assert.equal(renderTemplate(source, { items: [{ name: 'x' }, { name: 'y' }] }), 'a\nitem x\nitem y\nb\n');
});

test('each: item fields shadow outer names, outer names stay reachable, else renders for an empty list', () => {
  const source = '{{#each list}}\n{{prefix}} seq {{seq}} {{name}}\n{{else}}\n{{prefix}} none\n{{/each}}\n';
  assert.equal(renderTemplate(source, { prefix: 'P', name: 'outer', list: [{ seq: 10, name: 'inner' }] }), 'P seq 10 inner\n');
  assert.equal(renderTemplate(source, { prefix: 'P', name: 'outer', list: [] }), 'P none\n');
});

test('if: booleans and lists; else branch; nesting', () => {
  const source = '{{#if ospf}}\nrouter ospf\n{{#each ifs}}\n if {{n}}\n{{/each}}\n{{else}}\nno ospf\n{{/if}}\nend\n';
  assert.equal(renderTemplate(source, { ospf: true, ifs: [{ n: 'a' }] }), 'router ospf\n if a\nend\n');
  assert.equal(renderTemplate(source, { ospf: false, ifs: [{ n: 'a' }] }), 'no ospf\nend\n');
  assert.equal(renderTemplate('{{#if xs}}\nsome\n{{/if}}\n', { xs: [] }), '');
});

test('inline tags keep the rest of the line', () => {
  assert.equal(renderTemplate('a {{#if x}}yes{{else}}no{{/if}} b\n', { x: false }), 'a no b\n');
});

test('template bugs are errors naming the template, never a half-filled config', () => {
  assert.throws(
    () => renderTemplate('x {{missing}}\n', {}, 'ospfd.conf'),
    (error: unknown) => error instanceof TemplateError && /ospfd\.conf: no value for \{\{missing\}\}/.test(error.message),
  );
  assert.throws(() => renderTemplate('{{#each a}}\nx\n', { a: [] }, 't'), /never closed/);
  assert.throws(() => renderTemplate('{{/if}}\n', {}, 't'), /closes nothing open/);
  assert.throws(() => renderTemplate('{{#each a}}x{{/if}}', { a: [] }, 't'), /closes nothing open/);
  assert.throws(() => renderTemplate('{{#each a}}x{{/each}}', { a: 'text' }, 't'), /needs a list/);
  assert.throws(() => renderTemplate('{{a}}', { a: [{ b: 1 }] }, 't'), /not text/);
  assert.throws(() => renderTemplate('{{#unless a}}x{{/unless}}', { a: true }, 't'), /unknown block/);
});
