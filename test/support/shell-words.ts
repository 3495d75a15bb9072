// Shell commands as the docs write them, split into words without running anything (issue #6; the install-guide
// walk of issue #11 reuses it).

/**
 * Splits a shell block into simple commands (words, quotes removed), as far as the docs need: comments, line
 * continuations, quotes spanning lines, `&&`/`||`/`|`/`;`/`&`, redirections (their target dropped), here-documents
 * (their body skipped) and `$( … )`. Nothing is expanded.
 */
export function shellCommands(script: string): string[][] {
  const commands: string[][] = [];
  let words: string[] = [];
  let word: string | undefined;
  let dropNext = false;
  const heredocs: string[] = [];
  const endWord = () => {
    if (word !== undefined && !dropNext) words.push(word);
    else if (word !== undefined) dropNext = false;
    word = undefined;
  };
  const endCommand = () => {
    endWord();
    dropNext = false;
    if (words.length > 0) commands.push(words);
    words = [];
  };
  const closing = (from: number, quote: string) => {
    const end = script.indexOf(quote, from);
    if (end < 0) throw new Error(`unterminated ${quote} in: ${script.slice(from - 1, from + 60)}`);
    return end;
  };
  let i = 0;
  while (i < script.length) {
    const c = script[i]!;
    const next = script[i + 1];
    if (c === "\\" && next === "\n") i += 2;
    else if (c === "\\") {
      word = (word ?? "") + (next ?? "");
      i += 2;
    } else if (c === "'") {
      const end = closing(i + 1, "'");
      word = (word ?? "") + script.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      let j = i + 1;
      let text = "";
      for (; j < script.length && script[j] !== '"'; j++) text += (script[j] === "\\" ? script[++j] : script[j]) ?? "";
      if (j >= script.length) throw new Error(`unterminated " in: ${script.slice(i, i + 60)}`);
      word = (word ?? "") + text;
      i = j + 1;
    } else if (c === "$" && next === "(") {
      let depth = 0;
      let j = i + 1;
      for (; j < script.length; j++) {
        if (script[j] === "(") depth++;
        else if (script[j] === ")" && --depth === 0) break;
      }
      word = (word ?? "") + script.slice(i, j + 1);
      i = j + 1;
    } else if (c === "#" && word === undefined) {
      const end = script.indexOf("\n", i);
      i = end < 0 ? script.length : end;
    } else if (c === "\n") {
      endCommand();
      i++;
      // Here-document bodies follow the line that opened them, each up to its delimiter line.
      for (const delimiter of heredocs.splice(0)) {
        while (i < script.length) {
          const end = script.indexOf("\n", i);
          const line = script.slice(i, end < 0 ? undefined : end);
          i = end < 0 ? script.length : end + 1;
          if (line.trim() === delimiter) break;
        }
      }
    } else if (c === " " || c === "\t") {
      endWord();
      i++;
    } else if (c === "<" && next === "<") {
      endWord();
      i += script[i + 2] === "-" ? 3 : 2;
      const delimiter = /^\s*(['"]?)(\w+)\1/.exec(script.slice(i));
      if (!delimiter) throw new Error(`here-document without a delimiter: ${script.slice(i - 2, i + 40)}`);
      heredocs.push(delimiter[2]!);
      i += delimiter[0].length;
    } else if (c === ">" || c === "<") {
      endWord();
      dropNext = true;
      i += next === ">" ? 2 : 1;
    } else if (c === "|" || c === "&" || c === ";") {
      endCommand();
      i += next === c ? 2 : 1;
    } else {
      word = (word ?? "") + c;
      i++;
    }
  }
  endCommand();
  return commands;
}

/** The value of a flag (`-f X`, `-f=X`, `--file X`, `--file=X`) wherever it appears, for every occurrence. */
export function flagValues(words: string[], names: string[]): string[] {
  const values: string[] = [];
  words.forEach((word, i) => {
    for (const name of names) {
      if (word === name && words[i + 1] !== undefined) values.push(words[i + 1]!);
      else if (word.startsWith(`${name}=`)) values.push(word.slice(name.length + 1));
    }
  });
  return values;
}

/** The positional arguments of a command line: what is neither a flag nor the value of one in `valueFlags`. */
export function positionalArgs(args: string[], valueFlags: ReadonlySet<string>): string[] {
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg.startsWith("-")) {
      if (!arg.includes("=") && valueFlags.has(arg)) i++;
    } else positional.push(arg);
  }
  return positional;
}
