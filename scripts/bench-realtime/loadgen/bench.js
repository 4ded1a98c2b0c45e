// The realtime benchmark (scripts/bench-realtime.sh runs it): services/realtime and the guide's
// own server (../peer) under the same load from the same socket.io-client, in turn, on one
// machine. Two scenarios, each on a freshly started server:
//
// - connections: BENCH_CONNECTIONS (10,000) sockets connect (WebSocket, a token each) and are
//   held BENCH_HOLD_SECONDS (30: longer than one ping interval, so every socket has answered a
//   ping); then the server's VmRSS (and VmHWM) from /proc/<pid>/status.
// - fanout: BENCH_ROOMS (1,000) order rooms, each with one watcher (track-order, then timing
//   the driver-location events it receives) and one driver. Every room gets `rate` messages a
//   second, raised step by step from 1 until the p99 from publish to receipt passes
//   BENCH_P99_MS (50), then bisected; the knee is the highest rate that passed, reported as
//   messages delivered per second. A message never received counts as late.
//
// The machine's speed drifts (and it is shared), so the sides alternate: the connections
// scenario runs ours first in odd rounds and the peer first in even ones; the fan-out has both
// servers up and alternates their steps, each side's knee searched on its own. Prints Markdown on stdout, progress on stderr, and writes every step
// to BENCH_RESULTS (JSON) when set.
const { spawn } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const path = require('path');
const readline = require('readline');
const Redis = require('ioredis');
const { Ed25519Issuer, Hs256Issuer } = require('./tokens');

const env = process.env;
const num = (name, fallback) => (env[name] ? Number(env[name]) : fallback);
const cfg = {
  realtimeBin: env.BENCH_REALTIME_BIN,
  peerDir: env.BENCH_PEER_DIR || path.join(__dirname, '..', 'peer'),
  redisUrl: env.REDIS_URL || 'redis://127.0.0.1:6379',
  redisPid: env.BENCH_REDIS_PID ? Number(env.BENCH_REDIS_PID) : null,
  connections: num('BENCH_CONNECTIONS', 10000),
  holdSeconds: num('BENCH_HOLD_SECONDS', 30),
  rooms: num('BENCH_ROOMS', 1000),
  warmSeconds: num('BENCH_WARM_SECONDS', 1),
  stepSeconds: num('BENCH_STEP_SECONDS', 5),
  drainSeconds: num('BENCH_DRAIN_SECONDS', 1),
  p99Ms: num('BENCH_P99_MS', 50),
  bisections: num('BENCH_BISECTIONS', 2),
  retries: num('BENCH_RETRIES', 1),
  // The client: ../client (Rust, default) or socket.io-client itself (worker.js), in
  // BENCH_WORKERS processes (1 and 4 by default) among which the rooms are shared.
  client: env.BENCH_CLIENT || 'rust',
  clientBin: env.BENCH_CLIENT_BIN,
  workers: num('BENCH_WORKERS', (env.BENCH_CLIENT || 'rust') === 'rust' ? 1 : 4),
  rounds: num('BENCH_ROUNDS', 2),
  concurrency: num('BENCH_CONNECT_CONCURRENCY', 64),
  serverCpus: env.BENCH_SERVER_CPUS || '',
  clientCpus: env.BENCH_CLIENT_CPUS || '',
  sides: (env.BENCH_SIDES || 'ours,peer').split(','),
  scenarios: (env.BENCH_SCENARIOS || 'connections,fanout').split(','),
  logDir: env.BENCH_LOG_DIR || fs.mkdtempSync('/tmp/bench-realtime-'),
  results: env.BENCH_RESULTS || '',
  rates: (env.BENCH_RATES || '1,2,3,5,7,10,15,20,25,30,40,50,60,80,100,130,160,200')
    .split(',')
    .map(Number),
};
const PORT = { ours: 18188, peer: 18189, support: 18187 };
const NAME = { ours: 'realtime', peer: 'guide (Node socket.io)' };
const ISSUER = 'faded-skies-auth';
const AUDIENCE = 'faded-skies';
const PEER_SECRET = crypto.randomBytes(32).toString('base64');
const PEER_USERS_KEY = 'bench:peer:users';
const TOKEN_TTL = 3600;
const TICK_HZ = 100; // /proc/<pid>/stat clock ticks (USER_HZ)

const log = (...args) => console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...args);
const loadavg = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const uuid = () => crypto.randomUUID();

// ---- processes ----------------------------------------------------------------------------

function pinned(cpus, command, args) {
  return cpus ? ['taskset', ['-c', cpus, command, ...args]] : [command, args];
}

function status(pid) {
  const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field) => Number((text.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm')) || [])[1]);
  return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
}

function ticks(pid) {
  if (!pid) return 0;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime, stime
  } catch {
    return 0;
  }
}

// Nanoseconds the process's threads have spent waiting on a run queue for a CPU (schedstat):
// how much other work on the machine held it back.
function waited(pid) {
  if (!pid) return 0;
  let total = 0;
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      try {
        total += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1]);
      } catch {
        // the thread ended
      }
    }
  } catch {
    return 0;
  }
  return total;
}

async function httpOk(url) {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.setTimeout(2000, () => req.destroy());
  });
}

async function startServer(side, support) {
  const logFile = path.join(cfg.logDir, `${side}-${Date.now()}.log`);
  const out = fs.openSync(logFile, 'a');
  let command;
  let args;
  let serverEnv;
  let health;
  if (side === 'ours') {
    [command, args] = pinned(cfg.serverCpus, cfg.realtimeBin, []);
    serverEnv = {
      ...env,
      APP_ENV: 'development',
      LOG_FORMAT: 'json',
      RUST_LOG: 'warn',
      HOST: '127.0.0.1',
      PORT: String(PORT.ours),
      REDIS_URL: cfg.redisUrl,
      JWKS_URL: `${support}/.well-known/jwks.json`,
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
      REALTIME_UPSTREAM_TRACKING: support,
      REALTIME_REDIS_PREFIX: 'bench-realtime',
      REALTIME_EMIT_CHANNEL: 'bench-realtime:emit',
      REALTIME_DRAIN_SECS: '0',
      EVENTS_EXCHANGE: 'faded_skies.bench',
    };
    // /health answers 200 once the adapter and the emit channel are subscribed.
    health = `http://127.0.0.1:${PORT.ours}/health`;
  } else {
    [command, args] = pinned(cfg.serverCpus, process.execPath, ['server.js']);
    serverEnv = {
      ...env,
      NODE_ENV: 'production',
      PORT: String(PORT.peer),
      REDIS_URL: cfg.redisUrl,
      JWT_SECRET: PEER_SECRET,
      PEER_ADAPTER_KEY: 'bench-peer',
      PEER_USERS_KEY,
    };
    health = `http://127.0.0.1:${PORT.peer}/health`;
  }
  const child = spawn(command, args, {
    cwd: side === 'peer' ? cfg.peerDir : undefined,
    env: serverEnv,
    stdio: ['ignore', out, out],
  });
  let exited = null;
  child.on('exit', (code, signal) => {
    exited = { code, signal };
  });
  for (let i = 0; i < 600; i += 1) {
    if (exited) throw new Error(`${side} exited at start (${JSON.stringify(exited)}); see ${logFile}`);
    if (await httpOk(health)) break;
    if (i === 599) throw new Error(`${side} not healthy after 60 s; see ${logFile}`);
    await sleep(100);
  }
  return {
    pid: child.pid,
    url: `http://127.0.0.1:${PORT[side]}`,
    logFile,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      for (let i = 0; i < 100 && !exited; i += 1) await sleep(100);
      if (!exited) child.kill('SIGKILL');
      for (let i = 0; i < 50 && !exited; i += 1) await sleep(100);
    },
    get exited() {
      return exited;
    },
  };
}

// JWKS for realtime's tokens, and the stand-in for tracking's `GET /api/orders/{id}/tracking`
// (realtime proxies track-order there and joins `order:{id}` on a 2xx; the guide's server
// joins at once). Used only while the sockets connect.
function startSupport(jwks) {
  const server = http.createServer((req, res) => {
    const send = (code, body) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/.well-known/jwks.json') return send(200, jwks);
    const tracking = req.url.match(/^\/api\/orders\/([0-9a-f-]{36})\/tracking$/);
    if (req.method === 'GET' && tracking) {
      return send(200, { orderId: tracking[1], status: 'out_for_delivery' });
    }
    return send(404, { error: { code: 'ROUTE_NOT_FOUND', message: 'not here' } });
  });
  return new Promise((resolve) => {
    server.listen(PORT.support, '127.0.0.1', () => resolve(server));
  });
}

// ---- workers ------------------------------------------------------------------------------

// The client processes, each driven over stdin/stdout (one JSON object a line each way).
class Workers {
  constructor(count) {
    this.pending = new Map();
    this.nextId = 1;
    this.children = Array.from({ length: count }, () => {
      const [command, args] =
        cfg.client === 'rust'
          ? pinned(cfg.clientCpus, cfg.clientBin, [])
          : pinned(cfg.clientCpus, process.execPath, [path.join(__dirname, 'worker.js')]);
      const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
      child.on('exit', (code, signal) => {
        for (const waiter of this.pending.values()) {
          waiter.reject(new Error(`a load generator process exited (${code ?? signal})`));
        }
        this.pending.clear();
      });
      readline.createInterface({ input: child.stdout }).on('line', (line) => {
        const message = JSON.parse(line);
        const waiter = this.pending.get(message.id);
        if (!waiter) return;
        this.pending.delete(message.id);
        if (message.error) waiter.reject(new Error(message.error));
        else waiter.resolve(message);
      });
      return child;
    });
  }

  ask(index, message) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.children[index].stdin.write(`${JSON.stringify({ ...message, id })}\n`);
    });
  }

  all(message) {
    return Promise.all(this.children.map((_, i) => this.ask(i, message)));
  }

  each(messages) {
    return Promise.all(messages.map((message, i) => this.ask(i, message)));
  }

  pids() {
    return this.children.map((child) => child.pid);
  }

  end() {
    for (const child of this.children) child.kill();
  }
}

// ---- scenarios ----------------------------------------------------------------------------

function issuerFor(side, ed25519) {
  return side === 'ours' ? ed25519 : new Hs256Issuer(PEER_SECRET);
}

async function registerPeerUsers(redis, users) {
  // The peer's User.findById reads this hash (see ../peer/models.js).
  await redis.del(PEER_USERS_KEY);
  const pipeline = redis.pipeline();
  for (const [id, role] of users) pipeline.hset(PEER_USERS_KEY, id, role);
  await pipeline.exec();
}

function split(items, parts) {
  const out = Array.from({ length: parts }, () => []);
  items.forEach((item, i) => out[i % parts].push(item));
  return out;
}

function sumErrors(answers) {
  const errors = {};
  for (const answer of answers) {
    for (const [message, count] of Object.entries(answer.errors)) {
      errors[message] = (errors[message] || 0) + count;
    }
  }
  return errors;
}

async function connections(side, ctx) {
  const issuer = issuerFor(side, ctx.ed25519);
  const users = Array.from({ length: cfg.connections }, () => [uuid(), 'customer']);
  if (side === 'peer') await registerPeerUsers(ctx.redis, users);
  const conns = users.map(([id, role]) => ({ token: issuer.sign(id, role, TOKEN_TTL), role: 'holder' }));
  const server = await startServer(side, ctx.support);
  try {
    await sleep(2000);
    const idle = status(server.pid);
    log(`${side}: idle RSS ${idle.rssMb.toFixed(1)} MB; connecting ${cfg.connections}`);
    const began = Date.now();
    const opened = await ctx.clients[side].each(
      split(conns, cfg.workers).map((share) => ({
        type: 'open',
        url: server.url,
        conns: share,
        concurrency: Math.ceil(cfg.concurrency / cfg.workers),
      })),
    );
    const connectSeconds = (Date.now() - began) / 1000;
    const ok = opened.reduce((sum, answer) => sum + answer.ok, 0);
    const errors = sumErrors(opened);
    log(`${side}: ${ok} connected in ${connectSeconds.toFixed(1)} s`, Object.keys(errors).length ? errors : '');
    const ticksBefore = ticks(server.pid);
    await sleep(cfg.holdSeconds * 1000);
    const heldCpu = ((ticks(server.pid) - ticksBefore) / TICK_HZ / cfg.holdSeconds) * 100;
    const counts = await ctx.clients[side].all({ type: 'count' });
    const held = counts.reduce((sum, answer) => sum + answer.connected, 0);
    const loaded = status(server.pid);
    log(`${side}: ${held} held after ${cfg.holdSeconds} s; RSS ${loaded.rssMb.toFixed(1)} MB (peak ${loaded.hwmMb.toFixed(1)})`);
    return {
      side,
      scenario: 'connections',
      target: cfg.connections,
      connected: ok,
      held,
      errors,
      connectSeconds,
      idleRssMb: idle.rssMb,
      rssMb: loaded.rssMb,
      hwmMb: loaded.hwmMb,
      heldCpuPct: heldCpu,
    };
  } finally {
    await ctx.clients[side].all({ type: 'close' });
    await server.stop();
    if (side === 'peer') await ctx.redis.del(PEER_USERS_KEY);
  }
}

function percentile(hist, total, p) {
  const rank = Math.ceil(total * p);
  let seen = 0;
  for (const [bucket, count] of hist) {
    seen += count;
    if (seen >= rank) return bucket >= 50000 ? Infinity : (bucket + 1) / 10;
  }
  return Infinity;
}

async function runStep(side, server, workers, rate) {
  const measureMs = cfg.stepSeconds * 1000;
  const warmMs = cfg.warmSeconds * 1000;
  const samples = {};
  const sample = (name) => {
    samples[name] = {
      server: ticks(server.pid),
      redis: ticks(cfg.redisPid),
      client: workers.pids().reduce((sum, pid) => sum + ticks(pid), 0),
      serverWait: waited(server.pid),
    };
  };
  const timers = [
    setTimeout(() => sample('start'), warmMs),
    setTimeout(() => sample('end'), warmMs + measureMs),
  ];
  const answers = await workers.all({
    type: 'step',
    rate,
    warmMs,
    measureMs,
    drainMs: cfg.drainSeconds * 1000,
  });
  timers.forEach(clearTimeout);
  const merged = new Map();
  let sent = 0;
  let received = 0;
  for (const answer of answers) {
    sent += answer.sent;
    received += answer.received;
    for (const [bucket, count] of answer.hist) merged.set(bucket, (merged.get(bucket) || 0) + count);
  }
  const hist = [...merged.entries()].sort((a, b) => a[0] - b[0]);
  const cpu = (name) =>
    samples.start && samples.end ? ((samples.end[name] - samples.start[name]) / TICK_HZ / cfg.stepSeconds) * 100 : NaN;
  const offered = cfg.rooms * rate;
  const result = {
    rate,
    offered,
    sent,
    received,
    publishedPerSecond: sent / cfg.stepSeconds,
    deliveredPerSecond: received / cfg.stepSeconds,
    lost: sent - received,
    p50: percentile(hist, sent, 0.5),
    p99: percentile(hist, sent, 0.99),
    max: percentile(hist, sent, 1),
    serverCpuPct: cpu('server'),
    redisCpuPct: cpu('redis'),
    clientCpuPct: cpu('client'),
    // Milliseconds a second the server's threads, together, waited for a CPU.
    serverWaitMs:
      samples.start && samples.end ? (samples.end.serverWait - samples.start.serverWait) / 1e6 / cfg.stepSeconds : NaN,
  };
  // The load generator kept the pace if it published (nearly) what the step asked for.
  result.paced = sent >= offered * cfg.stepSeconds * 0.95;
  result.pass = result.paced && result.p99 <= cfg.p99Ms;
  log(
    `${side}: ${rate}/s per room: published ${result.publishedPerSecond.toFixed(0)}/s, delivered ` +
      `${result.deliveredPerSecond.toFixed(0)}/s, p50 ${result.p50} ms, p99 ${result.p99} ms, lost ${result.lost}, ` +
      `CPU server ${result.serverCpuPct.toFixed(0)} % redis ${result.redisCpuPct.toFixed(0)} % ` +
      `load generator ${result.clientCpuPct.toFixed(0)} %, server waited ${result.serverWaitMs.toFixed(0)} ms/s for a CPU -> ${result.pass ? 'pass' : result.paced ? 'FAIL' : 'FAIL (load generator behind)'}`,
  );
  return result;
}

// Waits for the server to go idle (what a failed step queued is delivered or dropped), at
// most 20 s.
async function settle(server) {
  for (let i = 0; i < 40; i += 1) {
    const before = ticks(server.pid);
    await sleep(500);
    if (ticks(server.pid) - before <= 3) return;
  }
}

// One side's fan-out set-up: its server, and its rooms on its own client processes.
async function openFanout(side, ctx) {
  const workers = ctx.clients[side];
  const issuer = issuerFor(side, ctx.ed25519);
  const users = [];
  const conns = [];
  for (let i = 0; i < cfg.rooms; i += 1) {
    const orderId = uuid();
    const watcher = uuid();
    const driver = uuid();
    users.push([watcher, 'customer'], [driver, 'driver']);
    conns.push({ token: issuer.sign(watcher, 'customer', TOKEN_TTL), role: 'watcher', orderId });
    conns.push({ token: issuer.sign(driver, 'driver', TOKEN_TTL), role: 'driver', orderId });
  }
  if (side === 'peer') await registerPeerUsers(ctx.redis, users);
  const server = await startServer(side, ctx.support);
  // A room's watcher and driver go to the same process (pairs are adjacent in `conns`).
  const shares = Array.from({ length: cfg.workers }, () => []);
  for (let i = 0; i < conns.length; i += 2) shares[(i / 2) % cfg.workers].push(conns[i], conns[i + 1]);
  const opened = await workers.each(
    shares.map((share) => ({
      type: 'open',
      url: server.url,
      conns: share,
      concurrency: Math.ceil(cfg.concurrency / cfg.workers),
    })),
  );
  const ok = opened.reduce((sum, answer) => sum + answer.ok, 0);
  if (ok !== conns.length) throw new Error(`${side}: ${ok}/${conns.length} connected: ${JSON.stringify(sumErrors(opened))}`);
  await workers.all({ type: 'publisher', side, redisUrl: cfg.redisUrl, channel: 'bench-realtime:emit' });
  const probed = await workers.all({ type: 'probe', timeoutMs: 20000 });
  const reached = probed.reduce((sum, answer) => sum + answer.reached, 0);
  if (reached !== cfg.rooms) throw new Error(`${side}: only ${reached}/${cfg.rooms} rooms reached their watcher`);
  log(`${side}: ${cfg.rooms} rooms, each with its watcher and driver`);
  return { side, server, workers, steps: [] };
}

async function closeFanout(ctx, run) {
  await run.workers.all({ type: 'close' });
  await run.server.stop();
  if (run.side === 'peer') await ctx.redis.del(PEER_USERS_KEY);
}

// The rates to try, as a generator told whether each passed: up the list until one fails,
// then bisected between the last that passed and the first that failed.
function* kneeSearch() {
  let best = null;
  let worst = null;
  for (const rate of cfg.rates) {
    const result = yield rate;
    if (!result.pass) {
      worst = result;
      break;
    }
    best = result;
  }
  for (let i = 0; worst && best && i < cfg.bisections; i += 1) {
    const rate = Math.round(((best.rate + worst.rate) / 2) * 10) / 10;
    if (rate <= best.rate || rate >= worst.rate) break;
    const result = yield rate;
    if (result.pass) best = result;
    else worst = result;
  }
  return { knee: best, firstFail: worst };
}

// Both sides' knees, searched in lockstep: both servers are up, and their steps alternate
// (`order[0]` first), so that what else the machine is doing weighs on both alike. A step
// that fails is run again (BENCH_RETRIES times) before it counts.
async function fanout(order, ctx) {
  const runs = [];
  try {
    for (const side of order) runs.push(await openFanout(side, ctx));
    const searches = runs.map(() => kneeSearch());
    const pending = runs.map((_, i) => searches[i].next());
    const outcome = {};
    while (pending.some((state) => !state.done)) {
      for (const [i, run] of runs.entries()) {
        if (pending[i].done) continue;
        const rate = pending[i].value;
        let result;
        for (let attempt = 0; attempt <= cfg.retries; attempt += 1) {
          result = await runStep(run.side, run.server, run.workers, rate);
          run.steps.push(result);
          await settle(run.server);
          if (result.pass) break;
        }
        pending[i] = searches[i].next(result);
        if (pending[i].done) outcome[run.side] = pending[i].value;
      }
    }
    return runs.map((run) => ({
      side: run.side,
      scenario: 'fanout',
      rooms: cfg.rooms,
      ...outcome[run.side],
      steps: run.steps,
    }));
  } finally {
    for (const run of runs) await closeFanout(ctx, run);
  }
}

// ---- report -------------------------------------------------------------------------------

const mb = (value) => `${value.toFixed(0)} MB`;
const rate = (value) => `${Math.round(value).toLocaleString('en-US')}/s`;
const ms = (value) => (Number.isFinite(value) ? `${value} ms` : 'lost');

function report(results, machine) {
  const lines = [machine, ''];
  const find = (round, scenario, side) =>
    results.find((r) => r.round === round && r.scenario === scenario && r.side === side);
  const rounds = [...new Set(results.map((r) => r.round))];
  if (results.some((r) => r.scenario === 'connections')) {
    lines.push(
      `Connections: ${cfg.connections.toLocaleString('en-US')} sockets (WebSocket, a token each) held ${cfg.holdSeconds} s on one instance; VmRSS of the server process.`,
      '',
      '| round | server | held | connect time | RSS idle | RSS held | peak RSS | CPU while held |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const round of rounds) {
      for (const side of cfg.sides) {
        const r = find(round, 'connections', side);
        if (!r) continue;
        lines.push(
          `| ${round} | ${NAME[side]} | ${r.held}/${r.target} | ${r.connectSeconds.toFixed(1)} s | ${mb(r.idleRssMb)} | **${mb(r.rssMb)}** | ${mb(r.hwmMb)} | ${r.heldCpuPct.toFixed(1)} % |`,
        );
      }
    }
    lines.push('');
  }
  if (results.some((r) => r.scenario === 'fanout')) {
    lines.push(
      `Fan-out: ${cfg.rooms.toLocaleString('en-US')} rooms, one publisher and one watcher each; the knee is the highest rate whose p99 from publish to receipt is at most ${cfg.p99Ms} ms (steps of ${cfg.stepSeconds} s).`,
      '',
      '| round | server | knee: delivered | p50 | p99 | server CPU | server CPU per message | Redis CPU | load generator CPU | next step (failed) |',
      '|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const round of rounds) {
      for (const side of cfg.sides) {
        const r = find(round, 'fanout', side);
        if (!r) continue;
        const k = r.knee;
        const f = r.firstFail;
        const next = f ? `${rate(f.deliveredPerSecond)} of ${rate(f.offered)}, p99 ${ms(f.p99)}${f.paced ? '' : ' (load generator behind)'}` : 'none failed';
        lines.push(
          k
            ? `| ${round} | ${NAME[side]} | **${rate(k.deliveredPerSecond)}** | ${ms(k.p50)} | ${ms(k.p99)} | ${k.serverCpuPct.toFixed(0)} % | ${((k.serverCpuPct * 1e4) / k.deliveredPerSecond).toFixed(0)} µs | ${k.redisCpuPct.toFixed(0)} % | ${k.clientCpuPct.toFixed(0)} % | ${next} |`
            : `| ${round} | ${NAME[side]} | none (the first step failed) | | | | | | | ${next} |`,
        );
      }
    }
    lines.push('');
  }
  lines.push(
    `| round | ours, RSS with ${cfg.connections.toLocaleString('en-US')} held (target < 300 MB) | fan-out knee, ours ÷ peer (target ≥ 3×) |`,
    '|---|---|---|',
  );
  for (const round of rounds) {
    const c = find(round, 'connections', 'ours');
    const fo = find(round, 'fanout', 'ours');
    const fp = find(round, 'fanout', 'peer');
    let knees = '–';
    if (fo && fp && fo.knee && fp.knee) {
      const ratio = fo.knee.deliveredPerSecond / fp.knee.deliveredPerSecond;
      knees = `${ratio.toFixed(2)}×: ${ratio >= 3 ? 'met' : 'missed'}`;
    } else if (fo && fp && fo.knee && fp.firstFail) {
      // The peer failed its first step: its knee is below that rate.
      const ratio = fo.knee.deliveredPerSecond / fp.firstFail.offered;
      knees = `more than ${ratio.toFixed(2)}× (the peer failed its first step): ${ratio >= 3 ? 'met' : 'not shown'}`;
    }
    lines.push(
      `| ${round} | ${c ? `${mb(c.rssMb)}: ${c.rssMb < 300 && c.held === c.target ? 'met' : 'missed'}` : '–'} | ${knees} |`,
    );
  }
  return lines.join('\n');
}

// ---- main ---------------------------------------------------------------------------------

async function main() {
  if (cfg.sides.includes('ours') && !cfg.realtimeBin) throw new Error('BENCH_REALTIME_BIN is not set');
  if (cfg.client === 'rust' && !cfg.clientBin) throw new Error('BENCH_CLIENT_BIN is not set');
  const ed25519 = new Ed25519Issuer({ issuer: ISSUER, audience: AUDIENCE });
  const supportServer = await startSupport(ed25519.jwks);
  const ctx = {
    ed25519,
    support: `http://127.0.0.1:${PORT.support}`,
    redis: new Redis(cfg.redisUrl),
    // Each side has its own client processes (both servers are up during the fan-out).
    clients: Object.fromEntries(cfg.sides.map((side) => [side, new Workers(cfg.workers)])),
  };
  log(
    `logs in ${cfg.logDir}; client ${cfg.client} x${cfg.workers}; server CPUs ${cfg.serverCpus || 'any'}, ` +
      `load generator CPUs ${cfg.clientCpus || 'any'}`,
  );
  const results = [];
  const loadBefore = loadavg();
  try {
    for (let round = 1; round <= cfg.rounds; round += 1) {
      const order = round % 2 === 1 ? cfg.sides : [...cfg.sides].reverse();
      for (const scenario of cfg.scenarios) {
        if (scenario === 'fanout') {
          log(`round ${round}: fanout on ${order.join(' and ')}, in turn (load average ${loadavg()})`);
          for (const result of await fanout(order, ctx)) results.push({ round, ...result });
        } else {
          for (const side of order) {
            log(`round ${round}: connections on ${side} (load average ${loadavg()})`);
            results.push({ round, ...(await connections(side, ctx)) });
            await sleep(2000);
          }
        }
        if (cfg.results) fs.writeFileSync(cfg.results, JSON.stringify({ cfg, results }, null, 1));
      }
    }
  } finally {
    for (const workers of Object.values(ctx.clients)) workers.end();
    ctx.redis.disconnect();
    supportServer.close();
  }
  const machine =
    `${require('os').cpus().length} CPUs; client ${cfg.client}; server CPUs ${cfg.serverCpus || 'any'}; ` +
    `load average (1, 5, 15 min) ${loadBefore} at the start, ${loadavg()} at the end.`;
  console.log(report(results, machine));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
