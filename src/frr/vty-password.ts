// The vty password of the split daemon files, read from `frr.vty_password_file` when they are rendered: the secret
// lives in one file of its own (like FRR's configs, frr:frr 0640), never in healthcast.yaml, on a command line or in
// a message. Every error names the key and the file, never the content.
import fs from 'node:fs';

export type VtyPasswordResult = { ok: true; password: string } | { ok: false; error: string };

const KEY = 'frr.vty_password_file';

// Pure: FRR's `password WORD` takes one word, so the file holds that word and at most a trailing newline.
export function parseVtyPassword(text: string, file: string): VtyPasswordResult {
  const password = text.replace(/\r?\n$/, '');
  if (password === '') return { ok: false, error: `${KEY}: ${file} is empty` };
  if (/[\s\p{Cc}]/u.test(password)) {
    return { ok: false, error: `${KEY}: ${file} must hold one word (FRR's password has no spaces, line breaks or control characters)` };
  }
  return { ok: true, password };
}

export function readVtyPassword(file: string, read: (file: string) => string = (name) => fs.readFileSync(name, 'utf8')): VtyPasswordResult {
  let text: string;
  try {
    text = read(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    return { ok: false, error: `${KEY}: cannot read ${file}: ${code}` };
  }
  return parseVtyPassword(text, file);
}
