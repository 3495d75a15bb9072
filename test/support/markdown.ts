// Markdown as the operator's guides use it: fenced code blocks (also indented inside list items) and `## ` sections.
// Shared by the README/guide checks (test/deploy/readme.test.ts) and the install-guide walk (issue #11).

/** One fenced code block: its info string's language and its text, indentation removed. */
export interface Block {
  lang: string;
  body: string;
}

/** Fenced code blocks, indented ones (inside list items) included; their indentation is removed. */
export function fencedBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  let open: { indent: number; lang: string; lines: string[] } | undefined;
  for (const line of markdown.split("\n")) {
    const fence = /^(\s*)```\s*([\w-]*)\s*$/.exec(line);
    if (open) {
      if (fence && line.trim() === "```") {
        blocks.push({ lang: open.lang, body: open.lines.join("\n") });
        open = undefined;
      } else open.lines.push(line.slice(Math.min(open.indent, line.length - line.trimStart().length)));
    } else if (fence) open = { indent: fence[1]!.length, lang: fence[2] ?? "", lines: [] };
  }
  if (open) throw new Error("a code fence is never closed");
  return blocks;
}

/** The text under a `## ` heading, up to the next one. */
export function section(markdown: string, heading: string): string {
  const lines = markdown.split("\n");
  const start = lines.findIndex((l) => l.trim() === `## ${heading}`);
  if (start < 0) throw new Error(`no "## ${heading}" section`);
  const end = lines.findIndex((l, i) => i > start && l.startsWith("## "));
  return lines.slice(start + 1, end < 0 ? undefined : end).join("\n");
}
