// frr.vty_password_file: one word, read when the split files are rendered; errors name the key and the file, never the secret.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseVtyPassword, readVtyPassword } from '../../../src/frr/vty-password.js';

const FILE = '/etc/frr/vty.password';

test('the file content, without its trailing newline, is the password', () => {
  for (const [text, password] of [
    ['s3cret\n', 's3cret'],
    ['s3cret', 's3cret'],
    ['s3cret\r\n', 's3cret'],
    ['!#%$&-_.', '!#%$&-_.'],
  ] as const) {
    assert.deepEqual(parseVtyPassword(text, FILE), { ok: true, password }, JSON.stringify(text));
  }
});

test('an empty file, spaces, several lines or control characters are refused without echoing the content', () => {
  const table: [string, string][] = [
    ['', 'frr.vty_password_file: /etc/frr/vty.password is empty'],
    ['\n', 'frr.vty_password_file: /etc/frr/vty.password is empty'],
    ['two words\n', "frr.vty_password_file: /etc/frr/vty.password must hold one word (FRR's password has no spaces, line breaks or control characters)"],
    ['line1\nline2\n', "frr.vty_password_file: /etc/frr/vty.password must hold one word (FRR's password has no spaces, line breaks or control characters)"],
    ['tab\there', "frr.vty_password_file: /etc/frr/vty.password must hold one word (FRR's password has no spaces, line breaks or control characters)"],
    ['bell\u0007', "frr.vty_password_file: /etc/frr/vty.password must hold one word (FRR's password has no spaces, line breaks or control characters)"],
  ];
  for (const [text, error] of table) assert.deepEqual(parseVtyPassword(text, FILE), { ok: false, error }, JSON.stringify(text));
});

test('an unreadable file is named with the reason', () => {
  const denied = Object.assign(new Error("EACCES: permission denied, open '/etc/frr/vty.password'"), { code: 'EACCES' });
  assert.deepEqual(
    readVtyPassword(FILE, () => {
      throw denied;
    }),
    { ok: false, error: 'frr.vty_password_file: cannot read /etc/frr/vty.password: EACCES' },
  );
  assert.deepEqual(readVtyPassword('/nonexistent/healthcast-vty-password'), {
    ok: false,
    error: 'frr.vty_password_file: cannot read /nonexistent/healthcast-vty-password: ENOENT',
  });
  assert.deepEqual(
    readVtyPassword(FILE, () => 'ok-word\n'),
    { ok: true, password: 'ok-word' },
  );
});
