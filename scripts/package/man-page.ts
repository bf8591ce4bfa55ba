// healthcast(8), written from the CLI's own --help text (src/cli/main.ts HELP), so the two cannot disagree.
// The help is laid out in columns: "  COMMAND ... <two or more spaces> what it does", continuation lines indented.
// Pure: the text in, roff out.

export interface ManPageInfo {
  version: string;
  // The page's date, YYYY-MM-DD (the build's source date, for a reproducible package).
  date: string;
}

interface Entry {
  synopsis: string[];
  text: string[];
}

// Help lines indented this far or more continue the description column; less (but indented): the synopsis.
const DESCRIPTION_COLUMN = 40;

export function manPage(help: string, info: ManPageInfo): string {
  const lines = help.split('\n');
  const title = lines[0] ?? '';
  const summary = title.replace(/^healthcast:\s*/, '');
  const sections = splitSections(lines.slice(1));
  const out: string[] = [
    `.TH HEALTHCAST 8 "${info.date}" "healthcast ${escape(info.version)}" "System Administration"`,
    // No hyphenation: option names and paths are copied from the page.
    '.nh',
    '.SH NAME',
    `healthcast \\- ${escape(summary)}`,
  ];
  const usage = sections.get('Usage') ?? [];
  out.push('.SH SYNOPSIS');
  for (const entry of entries(usage)) out.push('.br', `.B ${escape(entry.synopsis.join(' ').replace(/\s+/g, ' '))}`);
  out.push('.SH DESCRIPTION', escape(DESCRIPTION), '.SH COMMANDS');
  out.push(...renderEntries(entries(usage)));
  out.push('.SH OPTIONS');
  out.push(...renderEntries(entries(sections.get('Options') ?? [])));
  for (const [name, body] of sections) {
    // "Docs:" names the checkout's paths; SEE ALSO names the installed ones.
    if (name === 'Usage' || name === 'Options' || name === 'Docs' || body.every((line) => line.trim() === '')) continue;
    out.push(`.SH ${escape(name.toUpperCase())}`, ...paragraphs(body));
  }
  out.push('.SH FILES', ...FILES.flatMap(([file, what]) => ['.TP', `.I ${escape(file)}`, escape(what)]));
  out.push('.SH SEE ALSO', escape(SEE_ALSO));
  return `${out.join('\n')}\n`;
}

const DESCRIPTION =
  'healthcast probes each local service the way a client would and keeps the service addresses on the host (or as kernel routes) only while the service is healthy; FRR redistributes them, so routers send clients to the nearest healthy node.';

const FILES: readonly (readonly [string, string])[] = [
  ['/etc/healthcast/healthcast.yaml', 'the main configuration (--config)'],
  ['/etc/healthcast/services.d/', 'one service per *.yaml file'],
  ['/var/lib/healthcast/', 'what the agent added (owned.json) and maintenance records'],
  ['/run/healthcast/control.sock', 'the control socket that status, drain, resume and check-now use'],
];

const SEE_ALSO =
  'The guides in /usr/share/doc/healthcast/: guide.md (configuration reference), operations.md (systemd, maintenance, metrics), probes.md, frr.md.';

// "Usage:" starts a section; so does an unindented line ending in ':' or starting with a word and '(...)' ("Signals (run): ...").
function splitSections(lines: readonly string[]): Map<string, string[]> {
  const sections = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of lines) {
    const heading = /^([A-Z][A-Za-z ]*?)(?: \([^)]*\))?:(.*)$/.exec(line);
    if (heading && !line.startsWith(' ')) {
      current = [];
      sections.set(heading[1]!, current);
      if (heading[2]!.trim()) current.push(line);
      continue;
    }
    current?.push(line);
  }
  return sections;
}

// Entries of a two-column block; a line that is not indented (or has no second column and is not a continuation)
// becomes an entry of its own with text only.
function entries(lines: readonly string[]): Entry[] {
  const result: Entry[] = [];
  for (const line of lines) {
    if (line.trim() === '') continue;
    const indent = line.length - line.trimStart().length;
    const last = result[result.length - 1];
    if (indent >= DESCRIPTION_COLUMN && last) {
      last.text.push(line.trim());
      continue;
    }
    const columns = /^\s+(\S(?:.*?\S)?)(?:\s{2,}(\S.*))?$/.exec(line);
    if (indent > 2 && last && columns && last.text.length === 0) {
      last.synopsis.push(columns[1]!);
      if (columns[2]) last.text.push(columns[2]);
      continue;
    }
    if (columns && indent === 2 && columns[1]!.startsWith('-') === false && !columns[1]!.startsWith('healthcast')) {
      result.push({ synopsis: [], text: [line.trim()] });
      continue;
    }
    result.push({ synopsis: columns ? [columns[1]!] : [], text: columns?.[2] ? [columns[2]] : [] });
  }
  return result;
}

function renderEntries(list: readonly Entry[]): string[] {
  return list.flatMap((entry) => {
    const synopsis = `.B ${escape(entry.synopsis.join(' ').replace(/\s+/g, ' '))}`;
    if (entry.synopsis.length === 0) return ['.PP', escape(entry.text.join(' '))];
    if (entry.text.length === 0) return ['.PP', synopsis];
    return ['.TP', synopsis, escape(entry.text.join(' '))];
  });
}

function paragraphs(lines: readonly string[]): string[] {
  const text = lines
    .map((line) => line.trim())
    .join(' ')
    .trim();
  return text ? ['.PP', escape(text)] : [];
}

// roff: a backslash is \e, a hyphen is \- (so options copy and paste), and a line may not start with '.' or "'".
export function escape(text: string): string {
  const escaped = text.replace(/\\/g, '\\e').replace(/-/g, '\\-');
  return /^[.']/.test(escaped) ? `\\&${escaped}` : escaped;
}
