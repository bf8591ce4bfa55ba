// A tiny template language for quagga-templates/: {{name}}, {{#each list}}..{{else}}..{{/each}},
// {{#if flag}}..{{else}}..{{/if}} and {{! comment }}. No dependency, no escaping (FRR config is plain text).
// A line holding nothing but a block tag or a comment disappears with its newline, so templates stay readable.

export type TemplateValue = string | number | boolean | readonly TemplateContext[] | TemplateContext;
export interface TemplateContext {
  readonly [name: string]: TemplateValue | undefined;
}

type Node = { kind: 'text'; text: string } | { kind: 'var'; name: string } | { kind: 'each' | 'if'; name: string; body: Node[]; otherwise: Node[] };

const TAG = /{{\s*([#/!]?)\s*([^}]*?)\s*}}/g;
// A whole line that is only a block tag, {{else}} or a comment: keep the tag, drop the indentation and the newline.
const STANDALONE = /^[ \t]*({{\s*(?:[#/]\s*\w+[^}]*|else|![^}]*)}})[ \t]*(?:\r?\n|$)/gm;

// Thrown for a template bug (unknown variable, unbalanced block): the message names the template and the tag.
export class TemplateError extends Error {
  override name = 'TemplateError';
}

function parse(source: string, templateName: string): Node[] {
  const text = source.replace(STANDALONE, '$1');
  const root: Node[] = [];
  const stack: { node: Extract<Node, { body: Node[] }>; inElse: boolean }[] = [];
  const current = (): Node[] => {
    const top = stack.at(-1);
    if (!top) return root;
    return top.inElse ? top.node.otherwise : top.node.body;
  };
  let last = 0;
  for (const match of text.matchAll(TAG)) {
    const before = text.slice(last, match.index);
    if (before) current().push({ kind: 'text', text: before });
    last = match.index + match[0].length;
    const [, sigil, body = ''] = match;
    if (sigil === '!') continue;
    if (sigil === '#') {
      const [kind, name] = body.split(/\s+/);
      if ((kind !== 'each' && kind !== 'if') || !name) throw new TemplateError(`${templateName}: unknown block {{#${body}}}`);
      const node = { kind, name, body: [], otherwise: [] } as Extract<Node, { body: Node[] }>;
      current().push(node);
      stack.push({ node, inElse: false });
    } else if (sigil === '/') {
      const top = stack.pop();
      if (!top || top.node.kind !== body) throw new TemplateError(`${templateName}: {{/${body}}} closes nothing open`);
    } else if (body === 'else') {
      const top = stack.at(-1);
      if (!top || top.inElse) throw new TemplateError(`${templateName}: {{else}} outside a block`);
      top.inElse = true;
    } else {
      current().push({ kind: 'var', name: body });
    }
  }
  const rest = text.slice(last);
  if (rest) root.push({ kind: 'text', text: rest });
  if (stack.length > 0) throw new TemplateError(`${templateName}: {{#${stack.at(-1)!.node.kind} ${stack.at(-1)!.node.name}}} is never closed`);
  return root;
}

// Inner scopes first, so a loop item's fields shadow the outer names but the outer ones stay reachable.
function lookup(scopes: readonly TemplateContext[], name: string, templateName: string): TemplateValue {
  for (let index = scopes.length - 1; index >= 0; index -= 1) {
    const value = scopes[index]![name];
    if (value !== undefined) return value;
  }
  throw new TemplateError(`${templateName}: no value for {{${name}}}`);
}

function emit(nodes: readonly Node[], scopes: readonly TemplateContext[], templateName: string): string {
  let out = '';
  for (const node of nodes) {
    if (node.kind === 'text') {
      out += node.text;
    } else if (node.kind === 'var') {
      const value = lookup(scopes, node.name, templateName);
      if (typeof value === 'object') throw new TemplateError(`${templateName}: {{${node.name}}} is a list or a record, not text`);
      out += String(value);
    } else if (node.kind === 'each') {
      const list = lookup(scopes, node.name, templateName);
      if (!Array.isArray(list)) throw new TemplateError(`${templateName}: {{#each ${node.name}}} needs a list`);
      const items = list as readonly TemplateContext[];
      out += items.length === 0 ? emit(node.otherwise, scopes, templateName) : items.map((item) => emit(node.body, [...scopes, item], templateName)).join('');
    } else {
      const value = lookup(scopes, node.name, templateName);
      const truthy = Array.isArray(value) ? value.length > 0 : Boolean(value);
      out += emit(truthy ? node.body : node.otherwise, scopes, templateName);
    }
  }
  return out;
}

// Renders one template; throws TemplateError on a template bug rather than printing a half-filled config.
export function renderTemplate(source: string, context: TemplateContext, templateName = 'template'): string {
  return emit(parse(source, templateName), [context], templateName);
}
