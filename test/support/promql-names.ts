// The metric names a PromQL expression reads, for tests that check alert rules and dashboards against a real agent's
// /metrics (a renamed metric must break them). Not a PromQL parser: it removes what cannot be a metric name (strings,
// label matchers, ranges, grouping clauses, numbers and durations, keywords, function names) and keeps the rest.
const KEYWORDS = new Set(['and', 'or', 'unless', 'offset', 'bool', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan', 'atan2']);

export function promqlMetricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/#[^\n]*/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\boffset\s+-?[0-9a-z]+/gi, ' ')
    .replace(/(?<![A-Za-z0-9_:])[0-9][0-9a-zA-Z.+-]*/g, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const rest = stripped.slice(match.index + match[0].length);
    if (/^\s*\(/.test(rest) || KEYWORDS.has(match[0].toLowerCase())) continue;
    names.add(match[0]);
  }
  return [...names].sort();
}

// The metric names a /metrics text declares: every `# TYPE` (a declared metric exists even before its first sample),
// with the _bucket, _sum and _count series of histograms and summaries, and every sample's name.
export function exposedMetricNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) {
      names.add(type[1]!);
      if (type[2] === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(type[1]! + suffix);
      if (type[2] === 'summary') for (const suffix of ['_sum', '_count']) names.add(type[1]! + suffix);
      continue;
    }
    const sample = /^([A-Za-z_:][A-Za-z0-9_:]*)[{ ]/.exec(line);
    if (sample) names.add(sample[1]!);
  }
  return names;
}
