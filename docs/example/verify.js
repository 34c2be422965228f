// docs/example/verify.js SECRET TIMESTAMP SIGNATURE BODY_FILE: an affiliate's check of an acre
// postback (docs/events.md), in Node.js: valid or invalid.
const crypto = require("crypto");
const fs = require("fs");

// X-Acre-Signature is v1=HEX(HMAC-SHA256(secret, timestamp "." body)); a timestamp more than
// 5 minutes from now is a replay.
function verify(secret, timestamp, body, signature, now = Date.now() / 1000) {
  if (Math.abs(now - Number(timestamp)) > 300) return false;
  const mac = crypto.createHmac("sha256", secret).update(`${timestamp}.`).update(body).digest("hex");
  const want = Buffer.from(`v1=${mac}`), got = Buffer.from(signature);
  return want.length === got.length && crypto.timingSafeEqual(want, got);
}

const [secret, ts, sig, path] = process.argv.slice(2);
// checked as of the timestamp itself, so that the example gives the same answer any day
console.log(verify(secret, ts, fs.readFileSync(path), sig, Number(ts)) ? "valid" : "invalid");
