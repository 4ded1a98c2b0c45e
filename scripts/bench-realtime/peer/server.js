// The benchmark peer: the guide's server/websocket.js on an HTTP server of its own, with the
// Redis adapter the guide's three replicas (its Kubernetes Deployment) need for a room to span
// them. Settings by environment: PORT, REDIS_URL, JWT_SECRET (websocket.js), PEER_ADAPTER_KEY,
// PEER_USERS_KEY (models.js).
const http = require('http');
const { createAdapter } = require('@socket.io/redis-adapter');
const redis = require('./config/redis');
const initializeWebSocket = require('./websocket');

if (!process.env.JWT_SECRET) {
  console.error('JWT_SECRET must be set');
  process.exit(2);
}

const server = http.createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'ok' }));
    return;
  }
  res.writeHead(404);
  res.end();
});

const io = initializeWebSocket(server);
const pubClient = redis.duplicate();
const subClient = redis.duplicate();
io.adapter(
  createAdapter(pubClient, subClient, { key: process.env.PEER_ADAPTER_KEY || 'bench-peer' }),
);

const port = Number(process.env.PORT || 3000);
server.listen(port, '127.0.0.1', () => {
  console.error(`peer listening on ${port}`);
});

function stop() {
  io.close();
  for (const client of [redis, pubClient, subClient]) client.disconnect();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
