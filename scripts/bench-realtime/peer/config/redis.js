// The guide's `config/redis` (not shown in the guide): one ioredis client on REDIS_URL. ioredis
// because its API is the one the guide calls (`redis.setex(key, seconds, value)`).
const Redis = require('ioredis');

module.exports = new Redis(process.env.REDIS_URL || 'redis://127.0.0.1:6379');
