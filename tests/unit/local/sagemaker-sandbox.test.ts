/**
 * How a job's or endpoint's container becomes a host process, in both modes, without starting one:
 * the bubblewrap command line and the path-rewrite fallback, and the boot-time choice between them.
 */
import { bubblewrapSandbox, type ContainerLaunch, detectSandbox, pathRewriteSandbox } from '../../../local/sagemaker/sandbox';

const JOB_DIR = '/data/sagemaker/jobs/train-1';

function container(overrides: Partial<ContainerLaunch> = {}): ContainerLaunch {
  return {
    command: ['python3', 'train.py', '--model-dir=/opt/ml/model'],
    env: { SM_MODEL_DIR: '/opt/ml/model', PATH: '/usr/bin', TMPDIR: '/var/tmp' },
    cwd: '/data/sources/abalone@abc',
    mlDirectory: JOB_DIR,
    networkIsolation: false,
    ...overrides,
  };
}

const sandbox = () => bubblewrapSandbox({ hide: ['/data'], keepVisible: ['/repo'], hostOptEntries: ['conda', 'ml'] });

/** The value after each occurrence of `flag` (pairs) in a bwrap argument list. */
function mounts(args: string[]): string[][] {
  const found: string[][] = [];
  args.forEach((arg, index) => {
    if (arg === '--ro-bind' || arg === '--bind') found.push([arg, args[index + 1]!, args[index + 2]!]);
    if (arg === '--tmpfs') found.push([arg, args[index + 1]!]);
  });
  return found;
}

describe('the bubblewrap sandbox', () => {
  it('runs the container command unchanged after bwrap, so it sees the literal /opt/ml paths', () => {
    const launch = sandbox().launch(container());

    expect(launch.command[0]).toBe('bwrap');
    expect(launch.command.slice(launch.command.indexOf('--') + 1)).toEqual(['python3', 'train.py', '--model-dir=/opt/ml/model']);
    expect(launch.env.SM_MODEL_DIR).toBe('/opt/ml/model');
    expect(launch.supervised).toBe(true);
  });

  it('binds the job directory as a writable /opt/ml over a read-only host, with a private /tmp', () => {
    const found = mounts(sandbox().launch(container()).command);

    expect(found[0]).toEqual(['--ro-bind', '/', '/']);
    expect(found).toContainEqual(['--tmpfs', '/tmp']);
    expect(found.at(-1)).toEqual(['--bind', JOB_DIR, '/opt/ml']);
    expect(found.filter(([flag]) => flag === '--bind')).toHaveLength(1);
  });

  it('hides the runtime data directory after keeping the runtime tree visible, then shows the cwd read-only again', () => {
    const found = mounts(sandbox().launch(container()).command).map((mount) => mount.join(' '));

    const visible = found.indexOf('--ro-bind /repo /repo');
    const hidden = found.indexOf('--tmpfs /data');
    const cwd = found.indexOf('--ro-bind /data/sources/abalone@abc /data/sources/abalone@abc');
    expect(visible).toBeGreaterThan(found.indexOf('--tmpfs /tmp'));
    expect(hidden).toBeGreaterThan(visible);
    expect(cwd).toBeGreaterThan(hidden);
  });

  it('rebuilds /opt from the host entries without the host /opt/ml, so /opt/ml need not exist on the host', () => {
    const found = mounts(sandbox().launch(container()).command).map((mount) => mount.join(' '));

    expect(found).toContain('--tmpfs /opt');
    expect(found).toContain('--ro-bind /opt/conda /opt/conda');
    expect(found).not.toContain('--ro-bind /opt/ml /opt/ml');
  });

  it('makes the hiding tmpfs layers and /opt read-only once every mount is in place', () => {
    const command = sandbox().launch(container()).command;
    const remounts = command.flatMap((arg, index) => (arg === '--remount-ro' ? [command[index + 1]] : []));

    expect(remounts).toEqual(['/data', '/opt']);
    expect(command.indexOf('--remount-ro')).toBeGreaterThan(command.indexOf('/opt/ml'));
  });

  it('unshares the network only for a network-isolated container', () => {
    expect(sandbox().launch(container({ networkIsolation: true })).command).toContain('--unshare-net');
    expect(sandbox().launch(container()).command).not.toContain('--unshare-net');
  });

  it('dies with the runtime and gives the container its own process and IPC namespaces', () => {
    const command = sandbox().launch(container()).command;

    expect(command).toEqual(expect.arrayContaining(['--die-with-parent', '--unshare-pid', '--unshare-ipc']));
  });

  it('drops every capability, so a root container cannot remount the host writable', () => {
    const command = sandbox().launch(container()).command;

    expect(command[command.indexOf('--cap-drop') + 1]).toBe('ALL');
  });

  it('points TMPDIR at the private /tmp', () => {
    expect(sandbox().launch(container()).env.TMPDIR).toBe('/tmp');
  });
});

describe('the path-rewrite fallback', () => {
  it('rewrites /opt/ml in the arguments and the environment to the job directory', () => {
    const launch = pathRewriteSandbox().launch(container());

    expect(launch.command).toEqual(['python3', 'train.py', `--model-dir=${JOB_DIR}/model`]);
    expect(launch.env.SM_MODEL_DIR).toBe(`${JOB_DIR}/model`);
    expect(launch.cwd).toBe('/data/sources/abalone@abc');
    expect(launch.supervised).toBe(false);
  });
});

describe('detectSandbox', () => {
  it('chooses bubblewrap without a warning when the probe container runs', async () => {
    const warn = jest.fn();
    const probed: string[][] = [];

    const chosen = await detectSandbox({ hide: ['/data'], hostOptEntries: [], warn, probe: async (command) => void probed.push(command) });

    expect(chosen.kind).toBe('bubblewrap');
    expect(warn).not.toHaveBeenCalled();
    expect(probed).toHaveLength(1);
    expect(probed[0]!.slice(-2)).toEqual(['--', 'true']);
    expect(probed[0]).toContain('--unshare-net');
  });

  it('falls back to path rewriting with one warning naming the reason when the probe fails', async () => {
    const warn = jest.fn();

    const chosen = await detectSandbox({ hide: ['/data'], hostOptEntries: [], warn, probe: async () => 'spawn bwrap ENOENT' });

    expect(chosen.kind).toBe('path-rewrite');
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]![0]).toContain('spawn bwrap ENOENT');
  });

  it('falls back when the probe itself throws', async () => {
    const warn = jest.fn();

    const chosen = await detectSandbox({ hide: [], hostOptEntries: [], warn, probe: () => Promise.reject(new Error('boom')) });

    expect(chosen.kind).toBe('path-rewrite');
    expect(warn).toHaveBeenCalledTimes(1);
  });
});
