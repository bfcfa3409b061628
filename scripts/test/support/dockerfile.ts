import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Replays a Dockerfile without a Docker engine, so that a test can prove the image's build
 * steps work: every stage gets a directory standing in for its filesystem root, COPY copies
 * (honouring .dockerignore for the build context), WORKDIR and ENV are tracked, and RUN lines
 * execute with the host's Node. RUN lines that install operating-system packages or global
 * tools cannot be replayed; they are returned so the caller can check the host provides the
 * same thing. Anything else the replay cannot represent faithfully is an error.
 */

export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

export interface Stage {
  name: string;
  root: string;
  workdir: string;
  env: Record<string, string>;
  cmd: string[];
  user?: string;
}

export interface ReplayOptions {
  dockerfile: string;
  context: string;
  workRoot: string;
  /** Environment for RUN lines on top of the host's, e.g. PATH with the pinned tools. */
  hostEnv: Record<string, string>;
  /** Whether a RUN line stands for host setup that is checked instead of executed. */
  isHostSetup(command: string): boolean;
  log?: (message: string) => void;
}

export interface Replay {
  stages: Stage[];
  final: Stage;
  skipped: string[];
}

export function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending: { text: string; line: number } | undefined;
  text.split('\n').forEach((raw, index) => {
    const trimmed = raw.trim();
    if (trimmed.startsWith('#') || (trimmed === '' && !pending)) return;
    const continues = trimmed.endsWith('\\');
    const piece = continues ? trimmed.slice(0, -1).trim() : trimmed;
    pending = pending
      ? { ...pending, text: `${pending.text} ${piece}` }
      : { text: piece, line: index + 1 };
    if (continues) return;
    const match = /^(\S+)\s+(.*)$/.exec(pending.text);
    if (!match) throw new Error(`Dockerfile line ${pending.line}: cannot parse "${pending.text}"`);
    instructions.push({ keyword: match[1]!.toUpperCase(), args: match[2]!, line: pending.line });
    pending = undefined;
  });
  return instructions;
}

/** .dockerignore patterns as matchers over context-relative paths (no "!" exceptions). */
export function dockerignoreMatcher(text: string): (relativePath: string) => boolean {
  const patterns = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const regexes = patterns.map((pattern) => {
    if (pattern.startsWith('!'))
      throw new Error(`.dockerignore exceptions are not replayed: ${pattern}`);
    const source = pattern
      .replace(/^\/+/, '')
      .split(/(\*\*\/|\*\*|\*|\?)/)
      .map((part) => {
        if (part === '**/') return '(?:.*/)?';
        if (part === '**') return '.*';
        if (part === '*') return '[^/]*';
        if (part === '?') return '[^/]';
        return part.replace(/[.+^${}()|[\]\\]/g, '\\$&');
      })
      .join('');
    return new RegExp(`^${source}$`);
  });
  return (relativePath) => regexes.some((regex) => regex.test(relativePath));
}

function copyContext(context: string, destination: string, ignored: (p: string) => boolean): void {
  const walk = (relative: string) => {
    for (const entry of fs.readdirSync(path.join(context, relative), { withFileTypes: true })) {
      const child = relative ? `${relative}/${entry.name}` : entry.name;
      if (ignored(child)) continue;
      const target = path.join(destination, child);
      if (entry.isDirectory()) {
        fs.mkdirSync(target, { recursive: true });
        walk(child);
      } else {
        fs.cpSync(path.join(context, child), target, { verbatimSymlinks: true });
      }
    }
  };
  fs.mkdirSync(destination, { recursive: true });
  walk('');
}

const splitWords = (args: string) => args.split(/\s+/).filter(Boolean);

function stripFlags(args: string): { flags: Record<string, string>; rest: string[] } {
  const flags: Record<string, string> = {};
  const words = splitWords(args);
  while (words[0]?.startsWith('--')) {
    const [key, value = ''] = words.shift()!.slice(2).split(/=(.*)/s);
    flags[key!] = value;
  }
  return { flags, rest: words };
}

function parseEnvPairs(args: string): Record<string, string> {
  const pairs: Record<string, string> = {};
  for (const match of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("([^"]*)"|\S*)/g)) {
    pairs[match[1]!] = match[3] ?? match[2]!;
  }
  return pairs;
}

export function replayDockerfile(options: ReplayOptions): Replay {
  const instructions = parseDockerfile(fs.readFileSync(options.dockerfile, 'utf8'));
  const ignoreFile = path.join(options.context, '.dockerignore');
  const ignored = dockerignoreMatcher(
    fs.existsSync(ignoreFile) ? fs.readFileSync(ignoreFile, 'utf8') : '',
  );
  const stages: Stage[] = [];
  const skipped: string[] = [];
  const log = options.log ?? (() => undefined);
  const inStage = (stage: Stage, containerPath: string) =>
    path.join(stage.root, path.posix.resolve(stage.workdir, containerPath));

  for (const { keyword, args, line } of instructions) {
    const where = `Dockerfile line ${line} (${keyword} ${args})`;
    const stage = stages[stages.length - 1];
    if (keyword === 'FROM') {
      const [image, as, name] = splitWords(args);
      if (as?.toUpperCase() !== 'AS' || !name)
        throw new Error(`${where}: every stage needs a name`);
      const parent = stages.find((s) => s.name === image);
      const root = path.join(options.workRoot, name);
      if (parent) fs.cpSync(parent.root, root, { recursive: true, verbatimSymlinks: true });
      else fs.mkdirSync(root, { recursive: true });
      stages.push({
        name,
        root,
        workdir: parent?.workdir ?? '/',
        env: { ...parent?.env },
        cmd: [],
      });
      continue;
    }
    if (keyword === 'ARG') continue;
    if (!stage) throw new Error(`${where}: instruction before the first FROM`);
    switch (keyword) {
      case 'WORKDIR':
        stage.workdir = path.posix.resolve(stage.workdir, args);
        fs.mkdirSync(path.join(stage.root, stage.workdir), { recursive: true });
        break;
      case 'ENV':
        Object.assign(stage.env, parseEnvPairs(args));
        break;
      case 'COPY': {
        const { flags, rest } = stripFlags(args);
        const destination = rest.pop();
        if (!destination || rest.length === 0)
          throw new Error(`${where}: COPY needs a source and a destination`);
        for (const source of rest) {
          const target = inStage(stage, destination);
          if (flags.from === undefined) {
            if (source !== '.')
              throw new Error(`${where}: only "COPY . <dir>" from the context is replayed`);
            copyContext(options.context, target, ignored);
            continue;
          }
          const from = stages.find((s) => s.name === flags.from);
          if (!from) throw new Error(`${where}: unknown stage ${flags.from}`);
          const origin = path.join(from.root, path.posix.resolve(from.workdir, source));
          if (!fs.existsSync(origin))
            throw new Error(`${where}: ${source} does not exist in stage ${from.name}`);
          const intoDirectory = destination.endsWith('/') && fs.statSync(origin).isFile();
          const finalTarget = intoDirectory ? path.join(target, path.basename(origin)) : target;
          fs.mkdirSync(path.dirname(finalTarget), { recursive: true });
          fs.cpSync(origin, finalTarget, { recursive: true, verbatimSymlinks: true });
        }
        break;
      }
      case 'RUN': {
        const command = stripFlags(args).rest.join(' ');
        if (options.isHostSetup(command)) {
          skipped.push(command);
          break;
        }
        if (/(^|\s)\//.test(command))
          throw new Error(`${where}: a replayed RUN must not use absolute paths`);
        log(`[${stage.name}] RUN ${command}`);
        execFileSync('sh', ['-ec', command], {
          cwd: path.join(stage.root, stage.workdir),
          // A container starts from its image's environment, not the test runner's (NODE_ENV=test).
          env: { PATH: process.env.PATH, HOME: process.env.HOME, ...stage.env, ...options.hostEnv },
          stdio: ['ignore', 'pipe', 'pipe'],
          maxBuffer: 256 * 1024 * 1024,
        });
        break;
      }
      case 'CMD':
        stage.cmd = JSON.parse(args) as string[];
        break;
      case 'USER':
        stage.user = args.trim();
        break;
      case 'LABEL':
      case 'EXPOSE':
        break;
      default:
        throw new Error(`${where}: ${keyword} is not replayed`);
    }
  }
  const final = stages[stages.length - 1];
  if (!final) throw new Error(`${options.dockerfile} has no stage`);
  return { stages, final, skipped };
}
