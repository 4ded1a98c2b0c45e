// The real socket.io-client v4 against a server under test. One scenario per run:
//
//   node client.mjs <scenario> <url> [options as JSON]
//
// Each thing the client sees is printed as one JSON line ({"step": ...}); the test reads them.
// The process exits 0 when the scenario is done, 1 (with {"step":"error"}) when it is not
// within its time.
import { io } from "socket.io-client";

const [scenario, url, rawOptions] = process.argv.slice(2);
const options = JSON.parse(rawOptions || "{}");
const auth = options.auth ?? { token: "ok" };
const transports = options.websocketOnly ? ["websocket"] : undefined;

function log(step, details = {}) {
  process.stdout.write(JSON.stringify({ step, ...details }) + "\n");
}

function fail(reason) {
  log("error", { reason: String(reason) });
  process.exit(1);
}

setTimeout(() => fail(`scenario ${scenario} not done in time`), options.timeoutMs ?? 15000);

function connect(extra = {}) {
  return io(url, {
    auth,
    transports,
    reconnectionDelay: 100,
    reconnectionDelayMax: 200,
    ...extra,
  });
}

function once(emitter, event) {
  return new Promise((resolve) => emitter.once(event, (...args) => resolve(args)));
}

// Every argument of the ack (`emitWithAck` resolves with the first one only).
function ackOf(socket, event, ...args) {
  return new Promise((resolve, reject) => {
    socket.timeout(5000).emit(event, ...args, (error, ...answer) =>
      error ? reject(error) : resolve(answer),
    );
  });
}

async function connected(socket) {
  if (!socket.connected) {
    await once(socket, "connect");
  }
  return socket;
}

const scenarios = {
  // Connect (polling then upgrade, or WebSocket only), emit with an ack, receive a
  // broadcast from another client through the server.
  async basic() {
    const socket = connect({ auth: { ...auth, room: "room:basic" } });
    // The transport the session opened on, and its upgrade (which may finish before the
    // namespace's CONNECT is answered).
    const upgraded = new Promise((resolve) =>
      socket.io.once("open", () => {
        const engine = socket.io.engine;
        log("opened", { transport: engine.transport.name });
        if (engine.transport.name === "websocket") {
          resolve();
        } else {
          engine.once("upgrade", () => resolve());
        }
      }),
    );
    await connected(socket);
    log("connected", { id: socket.id });
    await upgraded;
    log("transport", { name: socket.io.engine.transport.name });

    const echoed = await ackOf(socket, "message-with-ack", 1, "2", { 3: [true] });
    log("ack", { args: echoed });

    const other = await connected(connect({ auth: { ...auth } }));
    const received = once(socket, "broadcast");
    const [sent] = await ackOf(other, "publish", "room:basic", { hello: "room" });
    log("published", { sent });
    const [payload] = await received;
    log("broadcast", { payload });
    other.disconnect();
    socket.disconnect();
  },

  // The server refuses the CONNECT: connect_error with its message and data.
  async refused() {
    const socket = connect({ reconnection: false });
    const [error] = await once(socket, "connect_error");
    log("connect_error", { message: error.message, data: error.data ?? null });
    socket.disconnect();
  },

  // The client stops answering pings: the server closes the session after pingTimeout, and
  // the client reconnects by itself.
  async pingTimeout() {
    const socket = await connected(connect());
    const first = socket.id;
    const engine = socket.io.engine;
    // engine.io-client answers a ping with `_sendPacket("pong")`.
    const send = engine._sendPacket.bind(engine);
    engine._sendPacket = (type, ...rest) => (type === "pong" ? undefined : send(type, ...rest));
    const started = Date.now();
    const [reason] = await once(socket, "disconnect");
    log("disconnect", { reason, afterMs: Date.now() - started });
    await once(socket, "connect");
    log("reconnected", { changed: socket.id !== first });
    socket.disconnect();
  },

  // The server closes the session (as at shutdown): the client reconnects by itself.
  async reconnect() {
    const socket = await connected(connect());
    const first = socket.id;
    socket.emit("close-me");
    const [reason] = await once(socket, "disconnect");
    log("disconnect", { reason });
    await once(socket, "connect");
    log("reconnected", { changed: socket.id !== first });
    const echoed = await ackOf(socket, "message-with-ack", "again");
    log("ack", { args: echoed });
    socket.disconnect();
  },

  // Emits `options.event` with `options.args` and prints the ack (services' event tables).
  async emit() {
    const socket = await connected(connect());
    log("connected", { id: socket.id });
    const answer = await ackOf(socket, options.event, ...(options.args ?? []));
    log("ack", { args: answer });
    socket.disconnect();
  },
};

const run = scenarios[scenario];
if (!run) {
  fail(`unknown scenario ${scenario}`);
}
run()
  .then(() => {
    log("done");
    process.exit(0);
  })
  .catch(fail);
