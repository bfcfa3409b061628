import fs from 'node:fs';
import path from 'node:path';
import { readCatalogue } from '@internal/catalogue';
import { snapshot } from '../src/repository-snapshot';
import {
  addCodeowners,
  addToCatalogue,
  imageName,
  newServiceProblems,
  removeCodeowners,
  removeFromCatalogue,
} from '../src/service-registration';
import { SERVICES, TEAMS, createCheckout } from './checkout';

let root: string;
const [team, otherTeam] = TEAMS as [(typeof TEAMS)[number], (typeof TEAMS)[number]];
const write = (file: string, text: string) => {
  fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
  fs.writeFileSync(path.join(root, file), text);
};
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');
const CODEOWNERS = `*                          @example-org/platform
/deploy/teams/${team.name}/    @example-org/${team.name}-team
/deploy/teams/${otherTeam.name}/    @example-org/${otherTeam.name}-team
`;
beforeEach(() => {
  root = createCheckout();
  write('package.json', JSON.stringify({ workspaces: ['packages/*', 'tools'] }));
  write('packages/kit/package.json', JSON.stringify({ name: 'kit' }));
  write('tools/package.json', JSON.stringify({ name: 'tools' }));
  write('.github/CODEOWNERS', CODEOWNERS);
  write('scripts/repository.env', 'GITHUB_REPOSITORY=Some-Org/Repo\n');
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

describe('newServiceProblems', () => {
  it('accepts a free DNS-1123 name for a known team', () => {
    expect(newServiceProblems(root, { name: 'fresh', team: team.name })).toEqual([]);
  });

  it.each([
    [{ name: 'Bad_Name', team: team.name }, /service name "Bad_Name" is not a DNS-1123 label/],
    [{ name: 'x', team: team.name }, /service name "x" is not a DNS-1123 label/],
    [{ name: SERVICES[0], team: team.name }, /is taken: catalogue.yaml lists it under team/],
    [{ name: otherTeam.name, team: team.name }, /is taken: it is a team's name in catalogue.yaml/],
    [{ name: 'kit', team: team.name }, /is taken: an npm workspace of that name exists/],
    [{ name: 'tools', team: team.name }, /is taken: an npm workspace of that name exists/],
    [{ name: 'fresh', team: 'nobody' }, /unknown team "nobody" \(teams: /],
    [{ name: 'fresh', team: team.name, description: 'say "hi"' }, /description "say "hi"" must be/],
    [{ name: 'a'.repeat(41), team: team.name }, /service name "a{41}" is not a DNS-1123 label/],
  ])('refuses %j, naming the problem', (request, message) => {
    expect(newServiceProblems(root, request)).toEqual(
      expect.arrayContaining([expect.stringMatching(message)]),
    );
  });

  it('reports every problem at once', () => {
    expect(newServiceProblems(root, {})).toEqual([
      'missing the service name',
      `missing --team <team> (teams: ${TEAMS.map((t) => t.name).join(', ')})`,
    ]);
  });

  it('refuses a name whose folder exists already', () => {
    write('services/fresh/README.md', 'left over\n');
    expect(newServiceProblems(root, { name: 'fresh', team: team.name })).toEqual([
      'service name "fresh" is taken: services/fresh exists',
    ]);
  });
});

describe('the catalogue entry and the CODEOWNERS line', () => {
  it('adds the service to its team, keeping the rest, and removes it again', () => {
    const before = read('catalogue.yaml');
    addToCatalogue(root, 'fresh', otherTeam.name);
    expect(readCatalogue(root).teamOf('fresh')).toBe(otherTeam.name);
    removeFromCatalogue(root, 'fresh');
    expect(read('catalogue.yaml')).toBe(before);
  });

  it("gives services/<name>/ to the team, above the team's deploy line, and takes it back", () => {
    addCodeowners(root, 'fresh', otherTeam.name);
    expect(read('.github/CODEOWNERS')).toBe(
      CODEOWNERS.replace(
        `/deploy/teams/${otherTeam.name}/`,
        `${'/services/fresh/'.padEnd(26)} @example-org/${otherTeam.name}-team\n/deploy/teams/${otherTeam.name}/`,
      ),
    );
    removeCodeowners(root, 'fresh');
    expect(read('.github/CODEOWNERS')).toBe(CODEOWNERS);
  });

  it('names the image after the repository, in lower case', () => {
    expect(imageName(root, 'fresh')).toBe('ghcr.io/some-org/repo/fresh');
  });
});

describe('snapshot', () => {
  it('puts back changed and deleted files and removes new ones, empty folders included', () => {
    const saved = snapshot(root, ['.github', 'scripts/repository.env', 'services']);
    write('.github/CODEOWNERS', 'changed\n');
    fs.rmSync(path.join(root, 'scripts/repository.env'));
    write('services/new/deep/file.txt', 'new\n');
    saved.restore();
    expect(read('.github/CODEOWNERS')).toBe(CODEOWNERS);
    expect(read('scripts/repository.env')).toBe('GITHUB_REPOSITORY=Some-Org/Repo\n');
    expect(fs.existsSync(path.join(root, 'services'))).toBe(false);
  });
});
