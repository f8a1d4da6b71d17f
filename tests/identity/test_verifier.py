"""Verifier: forged, expired, revoked, unsigned, cross-user and replayed-elsewhere tokens are
refused with a one-line reason; real keys, real registry files, a real redis-server."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aurora_stream.config import Settings
from aurora_stream.identity import IdentityRefused, Issuer, Registry, Verifier, token_headers
from aurora_stream.identity.credentials import credential_for
from aurora_stream.identity.tokens import signing_key


@pytest.fixture
def settings(aurora_home: Path) -> Settings:
    return Settings.from_env(home=aurora_home)


def _refused(v: Verifier, headers, claimed=None) -> str:
    with pytest.raises(IdentityRefused) as exc:
        v.user_of(headers, claimed)
    reason = str(exc.value)
    assert "\n" not in reason and "eyJ" not in reason  # one line, never the token
    return reason


def test_valid_token_gives_its_subject(settings: Settings) -> None:
    token, _ = Issuer.from_settings(settings).issue("alice")
    v = Verifier.from_settings(settings)
    assert v.user_of(token_headers(token), "alice") == "alice"
    assert v.user_of(token_headers(token), None) == "alice"
    assert v.user_of({"aurora-token": token.encode()}, "alice") == "alice"  # mapping headers
    assert v.user_of([("other", b"x"), ("aurora-token", token)], "alice") == "alice"


def test_unsigned_events_are_refused(settings: Settings) -> None:
    v = Verifier.from_settings(settings)
    for headers in (None, [], [("trace", b"1")], [("aurora-token", b"")]):
        assert "unsigned" in _refused(v, headers, "alice")
    assert "malformed" in _refused(v, [("aurora-token", b"not-a-jwt")], "alice")


def test_cross_user_claim_is_refused(settings: Settings) -> None:
    bob, _ = Issuer.from_settings(settings).issue("bob")
    reason = _refused(Verifier.from_settings(settings), token_headers(bob), "alice")
    assert "'alice'" in reason and "'bob'" in reason


def test_forged_tokens_are_refused(settings: Settings, tmp_path: Path) -> None:
    v = Verifier.from_settings(settings)
    issued, item = Issuer.from_settings(settings).issue("alice")
    claims = jwt.decode(issued, options={"verify_signature": False})
    # signed by another key (another home's, an attacker's), same claims and jti
    other = Ed25519PrivateKey.generate()
    assert "forged" in _refused(v, token_headers(jwt.encode(claims, other, algorithm="EdDSA")))
    # a tampered payload under the original signature
    head, _payload, sig = issued.split(".")
    evil = jwt.encode({**claims, "sub": "root"}, other, algorithm="EdDSA").split(".")[1]
    assert "forged" in _refused(v, token_headers(f"{head}.{evil}.{sig}"))
    # alg=none, and HS256 keyed with the public key (algorithm confusion)
    none = jwt.encode(claims, None, algorithm="none")
    assert "EdDSA" in _refused(v, token_headers(none))
    hs = jwt.encode(claims, "s" * 32, algorithm="HS256")
    assert "EdDSA" in _refused(v, token_headers(hs))
    # the right key but a token this registry never issued (made outside `users add`)
    rogue = jwt.encode({**claims, "jti": "f" * 32}, signing_key(settings), algorithm="EdDSA")
    assert "not issued" in _refused(v, token_headers(rogue))
    # wrong audience, missing claims
    aud = jwt.encode({**claims, "aud": "other"}, signing_key(settings), algorithm="EdDSA")
    assert "audience" in _refused(v, token_headers(aud))
    nojti = {k: x for k, x in claims.items() if k != "jti"}
    assert "jti" in _refused(v, token_headers(jwt.encode(nojti, signing_key(settings),
                                                           algorithm="EdDSA")))
    # a huge header is refused before any parsing
    assert "longer" in _refused(v, [("aurora-token", b"e" * 10_000)])


def test_expired_token_is_refused(settings: Settings) -> None:
    token, _ = Issuer.from_settings(settings).issue("alice", lifetime_s=1)
    v = Verifier.from_settings(settings)
    v.leeway = 0
    assert v.user_of(token_headers(token), "alice") == "alice"
    time.sleep(2.2)
    assert _refused(v, token_headers(token), "alice") == "expired token"  # cache ends at exp


def test_revoked_token_is_refused_after_the_cache_window(settings: Settings) -> None:
    token, _ = Issuer.from_settings(settings).issue("alice")
    other, _ = Issuer.from_settings(settings).issue("carol")
    v = Verifier.from_settings(replace(settings, identity_cache_seconds=0.5))
    assert v.user_of(token_headers(token), "alice") == "alice"
    assert Registry.from_settings(settings).revoke("alice")
    time.sleep(0.6)
    assert "revoked" in _refused(v, token_headers(token), "alice")
    assert "revoked" in _refused(Verifier.from_settings(settings), token_headers(token))
    assert v.user_of(token_headers(other), "carol") == "carol"  # others are untouched
    new, _ = Issuer.from_settings(settings).issue("alice")  # a new credential works again
    assert v.user_of(token_headers(new), "alice") == "alice"


def test_revocation_in_redis_reaches_every_worker(settings: Settings, redis_url: str) -> None:
    s = replace(settings, redis_url=redis_url, identity_cache_seconds=0.3)
    token, _ = Issuer.from_settings(s).issue("dora")
    w1, w2 = Verifier.from_settings(s), Verifier.from_settings(s)  # two workers
    assert w1.user_of(token_headers(token), "dora") == w2.user_of(token_headers(token), None)
    assert Registry.from_settings(s).revoke("dora")
    time.sleep(0.4)
    for w in (w1, w2):
        assert "revoked" in _refused(w, token_headers(token), "dora")
    # the embedded (file) registry of the same home never heard of this credential
    assert "not issued" in _refused(Verifier.from_settings(settings), token_headers(token))


def test_registry_unreachable_refuses(settings: Settings) -> None:
    s = replace(settings, redis_url="redis://127.0.0.1:1/0")
    token = jwt.encode({"sub": "eve", "iat": int(time.time()), "exp": int(time.time()) + 60,
                        "jti": "a" * 32, "aud": "aurora"}, signing_key(settings),
                       algorithm="EdDSA")
    assert "cannot check revocation" in _refused(Verifier.from_settings(s),
                                                 token_headers(token))


def test_default_credential_needs_no_setup(settings: Settings) -> None:
    token = credential_for(settings, "default")
    assert Verifier.from_settings(settings).user_of(token_headers(token), "default") == "default"
    assert credential_for(settings, "default") == token  # made once, then reused
    home = settings.home
    assert home.stat().st_mode & 0o777 == 0o700
    for p in (home / "identity").rglob("*"):
        assert p.stat().st_mode & 0o777 == (0o700 if p.is_dir() else 0o600), p


def test_verify_is_fast(settings: Settings) -> None:
    token, _ = Issuer.from_settings(settings).issue("alice")
    headers = token_headers(token)
    v = Verifier.from_settings(settings)
    v.user_of(headers, "alice")
    n = 20_000
    t0 = time.perf_counter()
    for _ in range(n):
        v.user_of(headers, "alice")
    cached = (time.perf_counter() - t0) / n * 1e6
    v.cache_seconds = 0
    m = 300
    t0 = time.perf_counter()
    for _ in range(m):
        v._cache.clear()
        v.user_of(headers, "alice")
    full = (time.perf_counter() - t0) / m * 1e6
    print(f"verify: {cached:.2f} us cached, {full:.0f} us uncached (signature + registry)")
    assert cached < 50


def _first_use(home: str) -> str:
    return credential_for(Settings.from_env(home=Path(home)), "default")


def test_concurrent_first_use_makes_one_key_and_one_credential(tmp_path: Path) -> None:
    import multiprocessing

    home = tmp_path / "fresh"
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        tokens = pool.map(_first_use, [str(home)] * 8)
    assert len(set(tokens)) == 1
    v = Verifier.from_settings(Settings.from_env(home=home))
    assert v.user_of(token_headers(tokens[0]), "default") == "default"


def test_a_redis_outage_keeps_admitting_tokens_already_found_live(settings: Settings,
                                                                  tmp_path: Path) -> None:
    """Redis (the registry of a deployment) killed while workers run: a token a worker
    verified before the outage stays admitted (no revocation can be recorded while Redis
    is down either), so recommendations still go out; a token never checked is refused;
    once Redis is back, the registry decides again. Before, every event was refused
    'cannot check revocation' once the 5 s window ran out (found by bench/adversarial.py:
    Redis SIGKILLed under `aurora up --redis`)."""
    import shutil
    import subprocess

    from aurora_stream.service.ports import free_port, wait_for_port

    port = free_port()

    def redis() -> subprocess.Popen:
        p = subprocess.Popen([shutil.which("redis-server") or "redis-server", "--port",
                              str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                              "no", "--dir", str(tmp_path)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(port, 10)
        return p

    server = redis()
    try:
        s = replace(settings, redis_url=f"redis://127.0.0.1:{port}/0",
                    identity_cache_seconds=0.2)
        seen, _ = Issuer.from_settings(s).issue("fay")
        unseen, _ = Issuer.from_settings(s).issue("gus")
        v = Verifier.from_settings(s)
        assert v.user_of(token_headers(seen), "fay") == "fay"
        server.kill()
        server.wait(10)
        time.sleep(0.3)  # past the cache window: the registry is asked, and is down
        for _ in range(3):
            assert v.user_of(token_headers(seen), "fay") == "fay"
            time.sleep(0.1)
        assert "cannot check revocation" in _refused(v, token_headers(unseen), "gus")
        assert "signed by" in _refused(v, token_headers(seen), "gus")  # still fay's only
        server = redis()  # back (empty: a fresh server without persistence) ...
        time.sleep(0.3)
        assert "not issued" in _refused(v, token_headers(seen), "fay")  # ... and it decides
    finally:
        server.kill()
        server.wait(10)
