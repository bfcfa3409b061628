import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot, sleep } from '@internal/test-kit';
import { exportsIn, labPath } from './lab-files';

/**
 * The lab's images (lab/scripts/images.sh): its Docker engine, its registry on loopback and the
 * images built from this checkout's HEAD. Needs nothing of the Kubernetes part of the lab.
 */
export function buildImages(...args: string[]): void {
  execFileSync('bash', [path.join(repoRoot(), 'lab/scripts/images.sh'), ...args], {
    stdio: 'inherit',
    timeout: 40 * 60_000,
  });
}

/** What images.sh wrote to .lab/images.env. */
export const imagesEnv = (): Record<string, string> => exportsIn(labPath('images.env'));

/** Runs the lab's docker client against the lab's engine; throws with its output on failure. */
export function docker(...args: string[]): string {
  const env = imagesEnv();
  const result = spawnSync(env.LAB_DOCKER!, args, {
    encoding: 'utf8',
    env: { ...process.env, DOCKER_HOST: env.DOCKER_HOST },
    timeout: 300_000,
  });
  if (result.status !== 0) {
    throw new Error(
      `docker ${args.join(' ')} exited ${result.status}:\n${result.stderr}${result.stdout}`,
    );
  }
  return result.stdout.trim();
}

/** A container's last log lines, stdout and stderr (where Node prints an assertion). */
export function containerLog(container: string): string {
  const env = imagesEnv();
  const result = spawnSync(env.LAB_DOCKER!, ['logs', '--tail', '40', container], {
    encoding: 'utf8',
    env: { ...process.env, DOCKER_HOST: env.DOCKER_HOST },
  });
  return `${result.stdout}${result.stderr}`;
}

/** Removes containers and networks by name, ignoring any that do not exist. */
export function removeContainers(...names: string[]): void {
  const env = imagesEnv();
  for (const name of names) {
    spawnSync(env.LAB_DOCKER!, ['rm', '-f', name], {
      env: { ...process.env, DOCKER_HOST: env.DOCKER_HOST },
    });
  }
}

/** The loopback address a container's port is published on (`-p 127.0.0.1::<port>`). */
export function publishedUrl(container: string, port: number): string {
  const address = docker('port', container, `${port}/tcp`).split('\n')[0]!;
  return `http://${address}`;
}

/** Polls until `url` answers 200; throws with the container's log if it never does. */
export async function waitForOk(url: string, container: string, seconds = 60): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      if (response.status === 200) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = String(error);
    }
    await sleep(500);
  }
  throw new Error(`${url} never answered 200 (${last}); log:\n${containerLog(container)}`);
}

/** The registry digest of a pushed image, of its own repository (an image pushed to several has one each). */
export function pushedDigest(image: string): string {
  const repository = image.slice(0, image.lastIndexOf(':'));
  const line = docker(
    'image',
    'inspect',
    '--format',
    '{{range .RepoDigests}}{{println .}}{{end}}',
    image,
  )
    .split('\n')
    .find((entry) => entry.startsWith(`${repository}@`));
  if (!line) throw new Error(`no registry digest for ${image}: was it pushed?`);
  return line.slice(line.indexOf('@') + 1);
}
