import type { DashboardBackend } from '../../../dashboard/backend';
import { createDashboardHandler, errorAnswer, isDashboardPath } from '../../../dashboard/handler';
import type { Lineage } from '../../../cli/lineage';
import type { Status } from '../../../cli/status';
import { type Answer, fakeRequest, fakeResponse } from './fake-http';

const TOKEN = 'test-token-0123456789';
const ARN = 'arn:aws:sagemaker:us-east-1:123456789012:model-package/sluice-local--abalone/1';
const STATUS: Status = {
  runs: [{ stateMachine: 'sluice-local-model-build', name: 'abalone-1', status: 'SUCCEEDED', steps: [{ name: 'train', status: 'succeeded', durationSeconds: 2.5 }] }],
  modelVersions: [{ arn: ARN, group: 'sluice-local--abalone', version: 1, approval: 'PendingManualApproval', metrics: { regression_metrics: { mse: { value: 4.2 } } } }],
  endpoints: [],
};
const LINEAGE: Lineage = { version: 'sluice-local--abalone/1', modelPackageArn: ARN, approval: 'PendingManualApproval', endpoints: [] };

function backend(): jest.Mocked<DashboardBackend> {
  return {
    target: 'http://127.0.0.1:4799',
    status: jest.fn().mockResolvedValue(STATUS),
    lineage: jest.fn().mockResolvedValue(LINEAGE),
    approve: jest.fn().mockResolvedValue(ARN),
    reject: jest.fn().mockResolvedValue(ARN),
    promote: jest.fn().mockResolvedValue(ARN),
  };
}

const WRITE_HEADERS = { 'content-type': 'application/json', 'x-sluice-csrf': TOKEN, origin: 'http://127.0.0.1:4799', 'sec-fetch-site': 'same-origin' };

async function call(fake: DashboardBackend, method: string, url: string, options: { headers?: Record<string, string>; body?: string; hosts?: 'loopback' | 'any' } = {}): Promise<Answer> {
  const handle = createDashboardHandler({ backend: fake, token: TOKEN, hosts: options.hosts });
  const { response, answer } = fakeResponse();
  await handle(fakeRequest(method, url, options), response);
  return answer();
}

describe('isDashboardPath', () => {
  it.each([
    ['/dashboard', true],
    ['/dashboard/', true],
    ['/dashboard/api/status', true],
    ['/dashboards', false],
    ['/sluice-local-artifacts/dashboard/x', false],
  ])('%s → %s', (path, expected) => {
    expect(isDashboardPath(path)).toBe(expected);
  });
});

describe('the dashboard page and its files', () => {
  it('serves the page with its CSRF token and target, uncached, under a strict content security policy', async () => {
    const answer = await call(backend(), 'GET', '/dashboard/');

    expect(answer.statusCode).toBe(200);
    expect(answer.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(answer.body).toContain(`<meta name="sluice-csrf" content="${TOKEN}" />`);
    expect(answer.body).toContain('<span class="target">http://127.0.0.1:4799</span>');
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(answer.headers['content-security-policy']).toContain("script-src 'self'");
    expect(answer.headers['content-security-policy']).toContain("frame-ancestors 'none'");
  });

  it('redirects /dashboard to /dashboard/ so relative links resolve', async () => {
    const answer = await call(backend(), 'GET', '/dashboard');

    expect(answer.statusCode).toBe(308);
    expect(answer.headers.location).toBe('/dashboard/');
  });

  it('serves the bundled script (no imports left for the browser to fetch) and the style sheet', async () => {
    const script = await call(backend(), 'GET', '/dashboard/app.js');
    const style = await call(backend(), 'GET', '/dashboard/style.css');

    expect(script.statusCode).toBe(200);
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.body).toContain('function renderStatus(');
    expect(script.body).not.toMatch(/\brequire\(|^import /m);
    expect(style.statusCode).toBe(200);
    expect(style.headers['content-type']).toBe('text/css; charset=utf-8');
  });

  it.each(['/dashboard/../package.json', '/dashboard/%2e%2e/package.json', '/dashboard/page/main.ts', '/dashboard/assets.ts', '/dashboard/page%2Fstyle.css', '/dashboard/..%2f..%2fpackage.json', '/dashboard/index.html/../../cli/status.ts'])(
    'answers 404 for %s: only the fixed files are served',
    async (url) => {
      const answer = await call(backend(), 'GET', url);

      expect(answer.statusCode).toBe(404);
      expect(answer.json().error).toMatch(/^no dashboard file .*: open \/dashboard\/$/);
    },
  );

  it('refuses a Host that is not loopback (DNS rebinding), and serves it when told any host is fine', async () => {
    const rebound = await call(backend(), 'GET', '/dashboard/api/status', { headers: { host: 'attacker.example:4799' } });
    const open = await call(backend(), 'GET', '/dashboard/api/status', { headers: { host: 'build-box.internal:4799' }, hosts: 'any' });

    expect(rebound.statusCode).toBe(403);
    expect(rebound.json().error).toContain('Host "attacker.example:4799" is not a loopback address');
    expect(open.statusCode).toBe(200);
  });

  it.each(['localhost:4799', '127.0.0.1', '[::1]:4799', '127.1.2.3:80'])('serves the loopback Host %s', async (host) => {
    expect((await call(backend(), 'GET', '/dashboard/', { headers: { host } })).statusCode).toBe(200);
  });
});

describe('the dashboard API', () => {
  it('answers api/status with exactly what the backend (sluice status) returns', async () => {
    const fake = backend();

    const answer = await call(fake, 'GET', '/dashboard/api/status');

    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toEqual(STATUS);
  });

  it('shares one status read between requests that arrive while it is in flight', async () => {
    const fake = backend();
    let finish: (status: Status) => void = () => undefined;
    fake.status.mockImplementationOnce(() => new Promise<Status>((resolve) => (finish = resolve)));
    const handle = createDashboardHandler({ backend: fake, token: TOKEN });
    const first = fakeResponse();
    const second = fakeResponse();

    const both = Promise.all([handle(fakeRequest('GET', '/dashboard/api/status'), first.response), handle(fakeRequest('GET', '/dashboard/api/status'), second.response)]);
    finish(STATUS);
    await both;
    await handle(fakeRequest('GET', '/dashboard/api/status'), fakeResponse().response);

    expect(first.answer().json()).toEqual(STATUS);
    expect(second.answer().json()).toEqual(STATUS);
    expect(fake.status).toHaveBeenCalledTimes(2);
  });

  it('answers api/lineage for the reference given', async () => {
    const fake = backend();

    const answer = await call(fake, 'GET', '/dashboard/api/lineage?reference=sluice-local--abalone%2F1');

    expect(fake.lineage).toHaveBeenCalledWith('sluice-local--abalone/1');
    expect(answer.json()).toEqual(LINEAGE);
  });

  it('names the missing reference of api/lineage', async () => {
    const answer = await call(backend(), 'GET', '/dashboard/api/lineage');

    expect(answer.statusCode).toBe(400);
    expect(answer.json().error).toContain('the reference query parameter is required');
  });

  it('approves with the note given, answering as `sluice approve --json` does', async () => {
    const fake = backend();

    const answer = await call(fake, 'POST', '/dashboard/api/approve', { headers: WRITE_HEADERS, body: JSON.stringify({ reference: 'sluice-local--abalone/1', note: 'looks good' }) });

    expect(answer.statusCode).toBe(200);
    expect(fake.approve).toHaveBeenCalledWith('sluice-local--abalone/1', 'looks good');
    expect(answer.json()).toEqual({ modelPackageArn: ARN, approval: 'Approved' });
  });

  it('rejects and promotes through the backend', async () => {
    const fake = backend();

    const rejected = await call(fake, 'POST', '/dashboard/api/reject', { headers: WRITE_HEADERS, body: JSON.stringify({ reference: ARN }) });
    const promoted = await call(fake, 'POST', '/dashboard/api/promote', { headers: WRITE_HEADERS, body: JSON.stringify({ reference: ARN }) });

    expect(fake.reject).toHaveBeenCalledWith(ARN, undefined);
    expect(rejected.json()).toEqual({ modelPackageArn: ARN, approval: 'Rejected' });
    expect(fake.promote).toHaveBeenCalledWith(ARN);
    expect(promoted.json()).toEqual({ modelPackageArn: ARN, promotion: 'requested' });
  });

  it.each([
    ['no token', { ...WRITE_HEADERS, 'x-sluice-csrf': '' }, 'missing or wrong x-sluice-csrf header'],
    ['a wrong token', { ...WRITE_HEADERS, 'x-sluice-csrf': 'test-token-9999999999' }, 'missing or wrong x-sluice-csrf header'],
    ['another origin', { ...WRITE_HEADERS, origin: 'http://attacker.example' }, 'cross-origin request from http://attacker.example refused'],
    ['a cross-site fetch', { ...WRITE_HEADERS, 'sec-fetch-site': 'cross-site' }, 'cross-site request (sec-fetch-site: cross-site) refused'],
    ['a form post', { ...WRITE_HEADERS, 'content-type': 'application/x-www-form-urlencoded' }, 'content-type must be application/json'],
  ])('refuses an approval with %s (403) and approves nothing', async (_case, headers, message) => {
    const fake = backend();

    const answer = await call(fake, 'POST', '/dashboard/api/approve', { headers, body: JSON.stringify({ reference: 'sluice-local--abalone/1' }) });

    expect(answer.statusCode).toBe(403);
    expect(answer.json().error).toContain(message);
    expect(fake.approve).not.toHaveBeenCalled();
  });

  it('names the field when the body lacks a reference', async () => {
    const fake = backend();

    const answer = await call(fake, 'POST', '/dashboard/api/approve', { headers: WRITE_HEADERS, body: JSON.stringify({ note: 'x' }) });

    expect(answer.statusCode).toBe(400);
    expect(answer.json().error).toMatch(/^request body: reference: /);
    expect(fake.approve).not.toHaveBeenCalled();
  });

  it('says what JSON it expects when the body is not JSON', async () => {
    const answer = await call(backend(), 'POST', '/dashboard/api/reject', { headers: WRITE_HEADERS, body: 'reference=x' });

    expect(answer.statusCode).toBe(400);
    expect(answer.json().error).toBe('request body: expected JSON like {"reference": "<group>/<version>"}');
  });

  it('refuses a body over 16 KiB with 413', async () => {
    const answer = await call(backend(), 'POST', '/dashboard/api/approve', { headers: WRITE_HEADERS, body: JSON.stringify({ reference: 'x'.repeat(20_000) }) });

    expect(answer.statusCode).toBe(413);
  });

  it('answers 405 with Allow for the wrong method, and 404 listing the API for an unknown call', async () => {
    const wrongMethod = await call(backend(), 'GET', '/dashboard/api/approve');
    const unknown = await call(backend(), 'GET', '/dashboard/api/deploy');

    expect(wrongMethod.statusCode).toBe(405);
    expect(wrongMethod.headers.allow).toBe('POST');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error).toBe('no dashboard API /dashboard/api/deploy: try api/status, api/lineage, api/approve, api/reject, api/promote');
  });

  it("passes the CLI's message on when the backend refuses a reference", async () => {
    const fake = backend();
    fake.approve.mockRejectedValue(new Error('model package: expected an ARN (arn:aws:sagemaker:…:model-package/<group>/<version>) or <group>/<version>, got "abalone"'));

    const answer = await call(fake, 'POST', '/dashboard/api/approve', { headers: WRITE_HEADERS, body: JSON.stringify({ reference: 'abalone' }) });

    expect(answer.statusCode).toBe(400);
    expect(answer.json().error).toContain('expected an ARN');
  });

  it('answers 502 naming the target when it cannot be reached', async () => {
    const fake = backend();
    fake.status.mockRejectedValue(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4799'), { code: 'ECONNREFUSED' }));

    const answer = await call(fake, 'GET', '/dashboard/api/status');

    expect(answer.statusCode).toBe(502);
    expect(answer.json().error).toBe('cannot reach http://127.0.0.1:4799 (ECONNREFUSED): is it running?');
  });
});

describe('errorAnswer', () => {
  it('maps an AWS client fault to 400 with its name, and a service fault to 502', () => {
    const client = Object.assign(new Error('Model package not found'), { name: 'ValidationException', $fault: 'client' });
    const server = Object.assign(new Error('try again'), { name: 'InternalFailure', $fault: 'server' });

    expect(errorAnswer(client, 'AWS')).toEqual({ statusCode: 400, message: 'ValidationException: Model package not found' });
    expect(errorAnswer(server, 'AWS')).toEqual({ statusCode: 502, message: 'AWS failed: InternalFailure: try again' });
  });
});
