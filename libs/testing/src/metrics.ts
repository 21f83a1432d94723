/** Sum of a metric's samples (`name{…} v`, or `name v` without labels) whose line contains every `match` fragment. */
export function sumSamples(text: string, name: string, ...match: string[]): number {
  return text
    .split('\n')
    .filter((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && match.every((m) => l.includes(m)))
    .reduce((s, l) => s + Number(l.split(' ').pop()), 0);
}
