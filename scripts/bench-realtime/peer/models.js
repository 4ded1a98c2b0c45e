// Stand-ins for the guide's database models, so that its websocket.js runs without Postgres.
//
// - User.findById reads the user from a Redis hash the load generator fills before it connects
//   (`<PEER_USERS_KEY>`: user id -> role): one asynchronous round trip per connection, as the
//   guide's lookup in Postgres would be. An unknown id answers null, and websocket.js then
//   refuses the connection ('Authentication error'), as it would.
// - DriverLocation.create and SupportMessage.create resolve at once: the guide inserts a row;
//   here nothing is stored (services/realtime does not write either: tracking does, before it
//   publishes, and the benchmark publishes after that point).
const redis = require('./config/redis');

const USERS = process.env.PEER_USERS_KEY || 'bench:peer:users';

const User = {
  async findById(id) {
    const role = await redis.hget(USERS, String(id));
    return role ? { id, role } : null;
  },
};

const DriverLocation = {
  async create(row) {
    return row;
  },
};

let nextMessageId = 1;
const SupportMessage = {
  async create(row) {
    return { id: nextMessageId++, ...row, createdAt: new Date() };
  },
};

module.exports = { User, DriverLocation, SupportMessage };
