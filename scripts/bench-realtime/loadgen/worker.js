// One load-generator process (bench.js forks several): it holds its share of the connections,
// publishes for its share of the rooms and times what its watchers receive. The publisher and
// the watcher of a room live in the same process, so a message's publish time (carried in the
// payload) and its receipt are read on one clock, `performance.now()`.
//
// Commands from bench.js, one JSON object a line on stdin, each answered with one line on
// stdout carrying the command's `id` (as ../client, the Rust client bench.js uses by default,
// which says why it is not this one):
//   {type: 'open', url, conns: [{token, role, orderId}], concurrency}
//       role 'holder' (only connects), 'watcher' (emits track-order for orderId and times the
//       driver-location events it receives) or 'driver' (the publisher of orderId on the peer;
//       on realtime it stays connected, idle, as a driver's app is).
//   {type: 'publisher', side: 'ours' | 'peer', redisUrl, channel}
//   {type: 'count'}                    connections still open
//   {type: 'probe', timeoutMs}         publishes until every room's watcher has received one
//   {type: 'step', rate, warmMs, measureMs, drainMs}
//       publishes `rate` messages a second in each room for warmMs + measureMs; answers, for
//       the messages published during the measureMs window, how many were sent and received
//       and a histogram of publish -> receipt (0.1 ms buckets; never received = overflow).
//   {type: 'close'}
const { io } = require('socket.io-client');
const Redis = require('ioredis');
const { performance, monitorEventLoopDelay } = require('perf_hooks');

const BUCKETS_PER_MS = 10;
const HIST_MS = 5000;
const OVERFLOW = HIST_MS * BUCKETS_PER_MS;

const sockets = [];
const rooms = []; // {orderId, driver, watcher, reached}
const byOrder = new Map();
let publish = null;
let redis = null;
let window = null; // the measured window of the running step

function connect(url, token) {
  return new Promise((resolve, reject) => {
    const socket = io(url, {
      transports: ['websocket'],
      auth: { token },
      reconnection: false,
      forceNew: true,
      timeout: 60000,
    });
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
}

function room(orderId) {
  let entry = byOrder.get(orderId);
  if (!entry) {
    entry = { orderId, driver: null, watcher: null, reached: false };
    byOrder.set(orderId, entry);
    rooms.push(entry);
  }
  return entry;
}

function onLocation(entry) {
  return (data) => {
    const now = performance.now();
    entry.reached = true;
    const sent = data && data.speed;
    if (window && typeof sent === 'number' && sent >= window.start && sent < window.end) {
      const bucket = Math.min(Math.floor((now - sent) * BUCKETS_PER_MS), OVERFLOW);
      window.hist[bucket] += 1;
      window.received += 1;
    }
  };
}

async function open({ url, conns, concurrency }) {
  const errors = {};
  let ok = 0;
  let next = 0;
  async function lane() {
    while (next < conns.length) {
      const conn = conns[next++];
      try {
        const socket = await connect(url, conn.token);
        sockets.push(socket);
        ok += 1;
        if (conn.role === 'watcher') {
          const entry = room(conn.orderId);
          entry.watcher = socket;
          socket.on('driver-location', onLocation(entry));
          socket.emit('track-order', { orderId: conn.orderId });
        } else if (conn.role === 'driver') {
          room(conn.orderId).driver = socket;
        }
      } catch (err) {
        const message = String((err && err.message) || err);
        errors[message] = (errors[message] || 0) + 1;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, lane));
  return { ok, failed: conns.length - ok, errors };
}

// What the driver reports: a position, and the publish time in `speed` (the guide's server
// passes on only lat, lng, heading and speed; see README.md).
function location(sent) {
  return { lat: 37.7749, lng: -122.4194, heading: 90, speed: sent };
}

function setPublisher({ side, redisUrl, channel }) {
  if (side === 'peer') {
    // The guide's path: the driver's socket emits its location, the server broadcasts it to
    // the order's room.
    publish = (entry, sent) => {
      entry.driver.emit('driver-location-update', { orderId: entry.orderId, ...location(sent) });
    };
  } else {
    // Ours: what tracking does once it has accepted a location: one message on realtime's
    // emit channel, which every replica delivers to its sockets in the room.
    redis = new Redis(redisUrl, { enableAutoPipelining: true });
    publish = (entry, sent) => {
      redis.publish(
        channel,
        JSON.stringify({
          rooms: [`order:${entry.orderId}`],
          event: 'driver-location',
          data: { ...location(sent), timestamp: Date.now() },
        }),
      );
    };
  }
  return {};
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function probe({ timeoutMs }) {
  const until = performance.now() + timeoutMs;
  for (const entry of rooms) entry.reached = false;
  while (performance.now() < until) {
    const missing = rooms.filter((entry) => !entry.reached);
    if (missing.length === 0) break;
    for (const entry of missing) publish(entry, performance.now());
    await sleep(250);
  }
  return { rooms: rooms.length, reached: rooms.filter((entry) => entry.reached).length };
}

async function step({ rate, warmMs, measureMs, drainMs }) {
  const perSecond = rooms.length * rate;
  const began = performance.now();
  const hist = new Uint32Array(OVERFLOW + 1);
  window = { start: began + warmMs, end: began + warmMs + measureMs, hist, received: 0 };
  let published = 0;
  let sent = 0;
  let next = 0;
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const cpuBefore = process.cpuUsage();
  while (true) {
    const now = performance.now();
    if (now >= window.end) break;
    const due = Math.floor(((now - began) * perSecond) / 1000) - published;
    for (let k = 0; k < due; k += 1) {
      const at = performance.now();
      publish(rooms[next], at);
      next = (next + 1) % rooms.length;
      published += 1;
      if (at >= window.start && at < window.end) sent += 1;
    }
    await sleep(2);
  }
  const cpu = process.cpuUsage(cpuBefore);
  loop.disable();
  await sleep(drainMs);
  const received = window.received;
  window = null;
  hist[OVERFLOW] += Math.max(0, sent - received);
  const sparse = [];
  for (let i = 0; i <= OVERFLOW; i += 1) if (hist[i]) sparse.push([i, hist[i]]);
  return {
    sent,
    received,
    hist: sparse,
    cpuMs: (cpu.user + cpu.system) / 1000,
    loopP99Ms: loop.percentile(99) / 1e6,
  };
}

async function close() {
  for (const socket of sockets) socket.disconnect();
  sockets.length = 0;
  rooms.length = 0;
  byOrder.clear();
  if (redis) {
    redis.disconnect();
    redis = null;
  }
  return {};
}

const handlers = {
  open,
  publisher: setPublisher,
  count: async () => ({ connected: sockets.filter((socket) => socket.connected).length }),
  probe,
  step,
  close,
};

const readline = require('readline');

readline.createInterface({ input: process.stdin }).on('line', async (line) => {
  const message = JSON.parse(line);
  let answer;
  try {
    answer = { id: message.id, ...(await handlers[message.type](message)) };
  } catch (err) {
    answer = { id: message.id, error: String((err && err.stack) || err) };
  }
  process.stdout.write(`${JSON.stringify(answer)}\n`);
});
