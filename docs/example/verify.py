# docs/example/verify.py SECRET TIMESTAMP SIGNATURE BODY_FILE: an affiliate's check of an acre
# postback (docs/events.md): valid or invalid.
import hashlib
import hmac
import sys
import time


def verify(secret: str, timestamp: str, body: bytes, signature: str, now=None) -> bool:
    """X-Acre-Signature is v1=HEX(HMAC-SHA256(secret, timestamp "." body)); a timestamp more
    than 5 minutes from now is a replay."""
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > 300:
        return False
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest("v1=" + mac.hexdigest(), signature)


if __name__ == "__main__":
    secret, ts, sig, path = sys.argv[1:5]
    with open(path, "rb") as f:
        body = f.read()
    # checked as of the timestamp itself, so that the example gives the same answer any day
    print("valid" if verify(secret, ts, body, sig, now=int(ts)) else "invalid")
