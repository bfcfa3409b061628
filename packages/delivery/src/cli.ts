import fs from 'node:fs';
import { Argument, Command, CommanderError } from 'commander';
import { adoptFork } from './adopt-fork';
import { affectedServices } from './affected';
import { bump } from './bump';
import { catalogueQueries } from './catalogue-queries';
import { checkEverything, manifestTargets, staticChecks } from './check-manifests';
import { deploy } from './deploy';
import { DeliveryError, UsageError } from './errors';
import { driftReport, generate, GENERATORS, type GeneratorName } from './generate';
import { kubeconformCommand } from './kubeconform';
import { runInherited } from './processes';
import { promote, workflowOutputs } from './promote';
import { pushSettings, pushWithRetry } from './push';
import { Repository } from './repository';
import { seal, sealEnvironment } from './seal';
import { newService, removeService } from './services';
import { smoke, smokeOptions } from './smoke';

const print = (line: string) => console.log(line);
const warn = (line: string) => console.error(line);
const repository = () => Repository.containing();

/** A secret value from standard input, without the newline `echo` or a terminal adds. */
function readValue(): string {
  if (process.stdin.isTTY) console.error('value (end with Ctrl-D):');
  return fs.readFileSync(0, 'utf8').replace(/\r?\n$/, '');
}

/** The delivery tool's commands, parsed by main(). */
export function deliveryProgram(): Command {
  const program = new Command('delivery')
    .description(
      'Delivery of the services in catalogue.yaml: catalogue queries, generated files, affected services, image bump and promotion, deploy, smoke test, manifest validation',
    )
    .showSuggestionAfterError(false);

  const catalogue = program
    .command('catalogue')
    .description('answer about catalogue.yaml, after validating it (exit 3 when it is invalid)');
  const queries: [keyof typeof catalogueQueries, string, string[]][] = [
    ['check', 'validate; print a summary', []],
    ['services', 'one service per line', []],
    ['environments', 'one environment per line, in promotion order', []],
    ['teams', 'one team per line', []],
    ['applications', 'each service Application (<service>-<env>)', []],
    ['json', 'the whole catalogue, with services flattened', []],
    ['team-of', 'the team owning a service', ['service']],
    ['next-environment', 'the environment after one (exit 1 after the last)', ['env']],
    ['namespace', "a team's namespace in an environment", ['team', 'env']],
  ];
  for (const [name, description, args] of queries) {
    const query = catalogue.command(name).description(description);
    for (const arg of args) query.argument(`<${arg}>`);
    query.action((...values: unknown[]) => {
      const answer = (catalogueQueries[name] as (r: Repository, ...a: string[]) => string[])(
        repository(),
        ...(values.slice(0, args.length) as string[]),
      );
      if (answer.length > 0) print(answer.join('\n'));
    });
  }

  program
    .command('affected')
    .description(
      'the services whose image must be rebuilt for the commits <base>..<head>; every one without a usable base',
    )
    .option('--json', 'print a JSON array instead of one name a line')
    .argument('<base>', 'the commit before the change')
    .argument('[head]', 'the commit after it', 'HEAD')
    .action((base: string, head: string, options: { json?: boolean }) => {
      const selected = affectedServices(repository().root, base, head, warn);
      if (options.json) print(JSON.stringify(selected));
      else if (selected.length > 0) print(selected.join('\n'));
    });

  program
    .command('bump')
    .description(
      "set a service's image tag (and digest) in one environment's overlay; idempotent. Without --digest the image is pinned by tag only (refused under BUMP_REQUIRE_DIGEST=true)",
    )
    .option('--commit', 'commit that one file when it changed')
    .option('--push', 'commit, then push to BUMP_REMOTE (origin) with rebase retries')
    .option(
      '--if-newer',
      'leave the overlay alone when its tag is a commit that already contains <tag>',
    )
    .option('--digest <digest>', "the pushed image's digest, sha256:<64 lowercase hex>")
    .argument('<service>')
    .argument('<env>')
    .argument(
      '<tag>',
      'a git commit SHA (7-40 lowercase hex) or a version like 1.2.3 / v1.2.3-rc.1',
    )
    .action(
      async (
        service: string,
        env: string,
        tag: string,
        options: { commit?: boolean; push?: boolean; ifNewer?: boolean; digest?: string },
      ) =>
        bump(
          repository(),
          {
            service,
            env,
            tag,
            digest: options.digest,
            commit: Boolean(options.commit || options.push),
            push: Boolean(options.push),
            ifNewer: Boolean(options.ifNewer),
          },
          print,
        ),
    );

  program
    .command('promote')
    .description(
      'copy the tag and digest a service runs in <from> to the next environment <to>; with GITHUB_OUTPUT set, also writes tag=, digest=, previous=, previous_digest= and file= there',
    )
    .argument('<service>')
    .argument('<from>')
    .argument('<to>')
    .action((service: string, from: string, to: string) => {
      const promotion = promote(repository(), service, from, to, print);
      if (process.env.GITHUB_OUTPUT)
        fs.appendFileSync(process.env.GITHUB_OUTPUT, workflowOutputs(promotion));
    });

  program
    .command('push')
    .description(
      "push the current branch's new commits, rebasing onto the remote and retrying when it moved on (BUMP_REMOTE, BUMP_BRANCH, BUMP_PUSH_ATTEMPTS, BUMP_BACKOFF_SECONDS)",
    )
    .action(async () => {
      const root = repository().root;
      await pushWithRetry(root, pushSettings(root), print);
    });

  program
    .command('deploy')
    .description(
      'deploy one whole environment without Argo CD: platform layer, Secrets, every service, then wait for the rollouts (KUBECTL, ROLLOUT_TIMEOUT)',
    )
    .option('--dry-run', 'render with the pinned kustomize and print the kubectl commands instead')
    .argument('<env>')
    .action((env: string, options: { dryRun?: boolean }) =>
      deploy(repository(), {
        env,
        dryRun: Boolean(options.dryRun),
        kubectl: process.env.KUBECTL || 'kubectl',
        rolloutTimeout: process.env.ROLLOUT_TIMEOUT || '180s',
        log: print,
      }),
    );

  program
    .command('smoke')
    .description(
      'check a running Antaeus API: health, customers, invoices, one pay call (SMOKE_TIMEOUT_SECONDS, ANTAEUS_TOKEN)',
    )
    .argument('<url>', 'its base URL, e.g. http://localhost:30080')
    .action((url: string) => smoke(smokeOptions(url, process.env, print)));

  program
    .command('kubeconform')
    .description(
      'validate manifests with the pinned kubeconform, strictly, against the installed schemas',
    )
    .addArgument(new Argument('<inputs...>', 'YAML files, directories, or - for stdin'))
    .action((inputs: string[]) => {
      const [command, args] = kubeconformCommand(repository(), inputs);
      process.exitCode = runInherited(command, args);
    });

  program
    .command('adopt-fork')
    .description(
      'point the checkout at a fork: scripts/repository.env, every Argo CD repoURL, image name and signer identity',
    )
    .argument('<repository>', '<owner>/<name> on GitHub')
    .option(
      '--repo-url <url>',
      'the git URL Argo CD clones, when it is not GitHub (a mirror, the lab)',
    )
    .action((repo: string, options: { repoUrl?: string }) =>
      adoptFork(repository().root, repo, options.repoUrl, print),
    );

  program
    .command('new-service')
    .description(
      'add a service: workspace, Dockerfile, Kustomize base and overlays, catalogue entry and CODEOWNERS line, then `delivery generate` and the lockfile; all or nothing',
    )
    .usage('<name> --team <team> [--description "<one line>"]')
    .argument('[name]', 'a DNS-1123 label of 2-40 characters, not taken')
    .option('--team <team>', 'a team of catalogue.yaml')
    .option('--description <text>', 'one line for its package.json and README')
    .action((name: string | undefined, options: { team?: string; description?: string }) =>
      print(newService(repository(), { name, ...options }, print)),
    );

  program
    .command('remove-service')
    .description(
      'remove what new-service added for a service, then `delivery generate` and the lockfile',
    )
    .argument('<name>')
    .action((name: string) => print(removeService(repository(), name, print)));

  program
    .command('generate')
    .description(
      'write every file derived from catalogue.yaml, the team AppProjects and the Dockerfile template; --check writes nothing and exits 1 naming each file that differs',
    )
    .option('--check', 'compare only: name every file that differs, is missing or is stale')
    .addArgument(new Argument('[generator]', 'only this one').choices(Object.keys(GENERATORS)))
    .action((only: GeneratorName | undefined, options: { check?: boolean }) => {
      const drift = generate(repository(), { check: Boolean(options.check), only }, print);
      if (drift.length > 0) {
        warn(driftReport(drift));
        process.exitCode = 1;
      }
    });

  program
    .command('seal')
    .description(
      "encrypt one new value of one key of a Secret for an environment's Sealed Secrets controller (npm run seal), into the service's overlay; the value is read from standard input",
    )
    .argument('<environment>')
    .argument('<secret>', 'a Secret a service of that environment reads')
    .argument('<key>', 'a key of it the service reads')
    .action((env: string, secret: string, key: string) =>
      seal(repository(), { env, secret, key, value: readValue() }, print),
    );

  program
    .command('seal-environment')
    .description(
      "seal every Secret an environment's services read with new random values (a new environment, or a cluster with another controller key); --cert first makes that certificate the environment's",
    )
    .argument('<environment>')
    .option('--cert <file>', "the controller's certificate (kubeseal --fetch-cert)")
    .action((env: string, options: { cert?: string }) =>
      sealEnvironment(repository(), { env, certificate: options.cert }, print),
    );

  program
    .command('check-manifests')
    .description(
      'every check CI runs on the manifests (npm run check:manifests): pinned tools, catalogue, generated files, then per target kustomize, kubeconform, kube-score, image digests, scope and workloads, then the deploy policy tests',
    )
    .option('--static', 'the per-target checks only, on every target or on the given directories')
    .option('--targets', 'print the targets, one a line')
    .argument(
      '[dirs...]',
      'kustomization directories for --static, relative to the repository root',
    )
    .action((dirs: string[], options: { static?: boolean; targets?: boolean }) => {
      if (options.static && options.targets)
        throw new UsageError('--static and --targets exclude each other');
      if (dirs.length > 0 && !options.static)
        throw new UsageError(`directories (${dirs.join(' ')}) are checked with --static only`);
      const repo = repository();
      if (options.targets) return print(manifestTargets(repo).join('\n'));
      const targets = dirs.length > 0 ? dirs : manifestTargets(repo);
      const passed = options.static
        ? staticChecks(repo, targets, print)
        : checkEverything(repo, print);
      if (!passed) process.exitCode = 1;
    });

  // Every bad argument exits 2 with the command's usage line, as a UsageError does.
  const configure = (command: Command, name: string) => {
    command
      .exitOverride()
      .configureOutput({ outputError: (text, write) => write(text) })
      .showHelpAfterError(`usage: ${name} ${command.usage()}`);
    for (const sub of command.commands) configure(sub, `${name} ${sub.name()}`);
  };
  configure(program, 'delivery');
  return program;
}

/** The usage line of the subcommand an argument list names, for a UsageError. */
function usageOf(program: Command, argv: string[]): string {
  let command = program;
  const names: string[] = [program.name()];
  for (const arg of argv) {
    const sub = command.commands.find((candidate) => candidate.name() === arg);
    if (!sub) break;
    command = sub;
    names.push(sub.name());
  }
  return `usage: ${names.join(' ')} ${command.usage()}`;
}

export async function main(argv: string[]): Promise<number> {
  const program = deliveryProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (!(error instanceof DeliveryError)) throw error;
    const lines = error.message.split('\n');
    console.error(
      error.message.startsWith('smoke: ')
        ? error.message
        : lines.map((line) => `error: ${line}`).join('\n'),
    );
    if (error instanceof UsageError) console.error(usageOf(program, argv));
    return error.exitCode;
  }
}
