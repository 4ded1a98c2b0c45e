// Access tokens for each server, minted here so that neither needs its auth service:
// - realtime: auth's kind (crates/auth-token): EdDSA over Ed25519, with auth's claims, verified
//   against the JWKS this process serves (a key made for the run);
// - the peer: the guide's kind, HS256 with JWT_SECRET over `{userId}` (its websocket.js reads
//   payload.userId and looks the user up).
const crypto = require('crypto');

const b64url = (buffer) => Buffer.from(buffer).toString('base64url');
const json64 = (value) => b64url(JSON.stringify(value));

class Ed25519Issuer {
  constructor({ issuer, audience }) {
    const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
    this.privateKey = privateKey;
    this.kid = `bench-${crypto.randomUUID().slice(0, 8)}`;
    this.issuer = issuer;
    this.audience = audience;
    const jwk = publicKey.export({ format: 'jwk' });
    this.jwks = { keys: [{ ...jwk, kid: this.kid, use: 'sig', alg: 'EdDSA' }] };
  }

  sign(userId, role, ttlSeconds) {
    const now = Math.floor(Date.now() / 1000);
    const header = json64({ alg: 'EdDSA', typ: 'JWT', kid: this.kid });
    const claims = json64({
      sub: userId,
      role,
      idv: true,
      iat: now,
      exp: now + ttlSeconds,
      nbf: now,
      jti: crypto.randomUUID(),
      ver: 0,
      iss: this.issuer,
      aud: this.audience,
    });
    const input = `${header}.${claims}`;
    return `${input}.${b64url(crypto.sign(null, Buffer.from(input), this.privateKey))}`;
  }
}

class Hs256Issuer {
  constructor(secret) {
    this.secret = secret;
  }

  sign(userId, _role, ttlSeconds) {
    const now = Math.floor(Date.now() / 1000);
    const input = `${json64({ alg: 'HS256', typ: 'JWT' })}.${json64({
      userId,
      iat: now,
      exp: now + ttlSeconds,
    })}`;
    return `${input}.${b64url(crypto.createHmac('sha256', this.secret).update(input).digest())}`;
  }
}

module.exports = { Ed25519Issuer, Hs256Issuer };
