"""The review page (``aurora serve``) end to end: a real ``aurora up`` process (embedded
broker + worker), a real ``aurora serve`` process (uvicorn), a real headless Chromium driven
by Selenium. A person signs in with her credential, answers a review request with one
click, and sees the next recommendation of a similar column change; another user sees none
of it and cannot answer it; bad credentials are refused with a clear message."""

from __future__ import annotations

import http.cookiejar
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aurora_stream.config import Settings
from aurora_stream.identity.tokens import ALGORITHM, AUDIENCE, Issued, Issuer
from aurora_stream.service.ports import free_port, wait_for_port

AURORA = str(Path(sys.executable).with_name("aurora"))
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("AURORA_BROKER_KIND",
                                                            "AURORA_BROKER")}
    return {**env, "AURORA_HOME": str(home), "AURORA_EPSILON_PER_DAY": "0"}


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([AURORA, *args], env=_env(home), capture_output=True, text=True,
                          timeout=120)


def _csv(path: Path, seed: int) -> Path:
    """An id, a nearly empty column (it lands in review: too few values to be sure) and a
    price; ``seed`` varies the values, not the kind of columns."""
    import random

    rng = random.Random(seed)
    lines = ["id,extra,price"] + [
        f"{i},{rng.choice('345') if i % 200 == 0 else ''},{rng.random() * 100:.2f}"
        for i in range(1000)]
    path.write_text("\n".join(lines) + "\n")
    return path


@dataclass
class Stack:
    home: Path
    url: str
    alice: str
    bob: str
    tmp: Path

    def publish(self, user: str, seed: int) -> str:
        f = _csv(self.tmp / f"{uuid.uuid4().hex[:8]}.csv", seed)
        res = _cli(self.home, "publish", str(f), "--user", user, "--dataset", user)
        assert res.returncode == 0, res.stderr
        return res.stdout.strip().splitlines()[-1]

    def model_of(self, user: str) -> str:
        res = _cli(self.home, "rules", "--user", user, "--json")
        assert res.returncode == 0, res.stderr
        return re.search(r"model serving \S+: (\S+)", res.stderr).group(1)


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(args, env=env, stdout=out, stderr=out,
                                stdin=subprocess.DEVNULL, start_new_session=True)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("review")
    home = tmp / "home"
    up = _start([AURORA, "up"], _env(home), tmp / "up.log")
    serve = None
    try:
        deadline = time.monotonic() + 60
        while "ready" not in (tmp / "up.log").read_text(errors="replace"):
            assert up.poll() is None and time.monotonic() < deadline, \
                (tmp / "up.log").read_text()
            time.sleep(0.2)
        alice, bob = (_cli(home, "users", "add", n).stdout.strip() for n in ("alice", "bob"))
        port = free_port()
        serve = _start([AURORA, "serve", "--port", str(port)], _env(home), tmp / "serve.log")
        wait_for_port(port, 30)
        yield Stack(home, f"http://127.0.0.1:{port}", alice, bob, tmp)
    finally:
        if serve is not None:
            _stop(serve)
        _stop(up)


@pytest.fixture
def browser() -> Iterator:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.fail("chromium and chromium-driver are not installed: run tests/run.sh "
                    "(it installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="aurora-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 f"--user-data-dir={profile}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _sign_in(driver, url: str, credential: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(url + "/signin")
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    driver.find_element(By.ID, "credential").send_keys(credential)
    button = driver.find_element(By.ID, "signin")
    button.click()

    def answered(d) -> bool:
        # the click navigates: the answer is a page that says who signed in or why not.
        # While the document is being replaced chromedriver may answer a lookup with
        # "Node ... does not belong to the document" (not a stale-element error): retry.
        return bool(expected_conditions.staleness_of(button)(d)
                    and (d.find_elements(By.ID, "user") or d.find_elements(By.ID, "error")))

    WebDriverWait(driver, 30, ignored_exceptions=(WebDriverException,)).until(answered)


def _until(driver, url: str, predicate, timeout: float = 40.0):
    """Reload ``url`` until ``predicate(driver)`` is truthy; return its value."""
    deadline = time.monotonic() + timeout
    while True:
        driver.get(url)
        value = predicate(driver)
        if value:
            return value
        assert time.monotonic() < deadline, driver.page_source[-3000:]
        time.sleep(0.5)


def _rows(driver, dataset: str, column: int):
    from selenium.webdriver.common.by import By

    return driver.find_elements(
        By.CSS_SELECTOR, f'tr.rec[data-dataset="{dataset}"][data-column="{column}"]')


@pytest.mark.timeout(120)
def test_sign_in_answer_a_review_with_one_click_and_the_next_recommendation_changes(
        stack: Stack, browser) -> None:
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    _sign_in(browser, stack.url, stack.alice)
    assert browser.find_element(By.ID, "user").text == "alice"
    first = stack.publish("alice", seed=1)
    card = _until(browser, stack.url + "/", lambda d: [
        c for c in d.find_elements(By.CSS_SELECTOR, "div.review")
        if f"dataset {first}" in c.text and "column #1" in c.text])[0]
    assert len(card.find_elements(By.CSS_SELECTOR, "tr")) == 4  # header + top three options
    assert "empty" in card.text  # the reasons are shown
    before = _rows(browser, first, 1)[0]
    before_model = before.find_element(By.CSS_SELECTOR, ".mv").text
    before_text = before.text
    pick = card.find_element(By.CSS_SELECTOR, "button.pick")  # one click: an alternative
    picked = pick.find_element(By.XPATH, "./ancestor::tr").find_elements(By.TAG_NAME, "td")
    picked_type = picked[1].text
    pick.click()
    WebDriverWait(browser, 60, ignored_exceptions=(WebDriverException,)).until(
        lambda d: expected_conditions.staleness_of(pick)(d)
        and d.find_elements(By.ID, "message"))  # answered (see _sign_in on the exceptions)
    message = browser.find_element(By.ID, "message").text
    assert "applied" in message and f"corrected to {picked_type}" in message, message
    assert "user:alice@v1" in message
    assert not [c for c in browser.find_elements(By.CSS_SELECTOR, "div.review")
                if f"dataset {first}" in c.text and "column #1" in c.text]  # answered
    second = stack.publish("alice", seed=2)  # the next file, a similar column
    row = _until(browser, stack.url + "/", lambda d: _rows(d, second, 1))[0]
    after_model = row.find_element(By.CSS_SELECTOR, ".mv").text
    assert after_model != before_model and after_model.startswith("user:alice@v1")
    assert row.text.replace(second, "") != before_text.replace(first, "")
    assert stack.model_of("alice") == after_model
    browser.get(stack.url + "/rules")
    assert browser.find_element(By.ID, "model").text == after_model
    browser.get(stack.url + "/privacy")
    assert "epsilon" in browser.find_element(By.ID, "privacy").text.lower()


class _Client:
    """A plain HTTP client with cookies (a crafted request, no browser)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def request(self, path: str, data: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.url + path, body, timeout=60) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def csrf(self) -> str:
        return re.search(r'name="csrf" value="([^"]+)"', self.request("/")[1]).group(1)


@pytest.mark.timeout(120)
def test_bob_sees_none_of_alices_data_and_cannot_answer_her_review(stack: Stack,
                                                                   browser) -> None:
    from selenium.webdriver.common.by import By

    dataset = stack.publish("alice", seed=3)
    alice = _Client(stack.url)
    assert alice.request("/signin", {"credential": stack.alice})[0] == 200
    deadline = time.monotonic() + 40
    # wait for column #1's own review card: the columns' answers arrive one by one, so
    # another column's card of the same dataset can be on the page before it
    while not (rid := re.search(rf'id="review-([0-9a-f]+)"><h3>dataset {dataset},\s*column #1',
                                page := alice.request("/")[1])):
        assert time.monotonic() < deadline, page[-3000:]
        time.sleep(0.5)
    rid = rid.group(1)
    alice_model, bob_model = stack.model_of("alice"), stack.model_of("bob")

    _sign_in(browser, stack.url, stack.bob)
    assert browser.find_element(By.ID, "user").text == "bob"
    assert browser.find_element(By.ID, "no-reviews")
    source = browser.page_source
    assert dataset not in source and rid not in source and "alice" not in source
    for path in ("/rules", "/privacy"):
        browser.get(stack.url + path)
        assert "alice" not in browser.page_source

    bob = _Client(stack.url)
    assert bob.request("/signin", {"credential": stack.bob})[0] == 200
    for choice in ("accept", "pick-1", "correct"):
        status, body = bob.request("/answer", {
            "csrf": bob.csrf(), "recommendation_id": rid, "choice": choice,
            "feature_type": "url"})
        assert status == 403 and "no recommendation of yours" in body, (status, body[-500:])
    # without the session's CSRF token even alice's own answer is refused
    status, body = alice.request("/answer", {"csrf": "x", "recommendation_id": rid,
                                             "choice": "accept"})
    assert status == 403 and "CSRF" in body
    time.sleep(2)
    assert stack.model_of("alice") == alice_model and stack.model_of("bob") == bob_model
    assert f'id="review-{rid}"' in alice.request("/")[1]  # still open for alice


@pytest.mark.timeout(120)
def test_a_review_answered_with_the_cli_is_no_longer_open_on_the_page(stack: Stack) -> None:
    dataset = stack.publish("alice", seed=4)
    alice = _Client(stack.url)
    assert alice.request("/signin", {"credential": stack.alice})[0] == 200
    deadline = time.monotonic() + 40
    while not (rid := re.search(rf'id="review-([0-9a-f]+)"><h3>dataset {dataset},\s*column #1',
                                page := alice.request("/")[1])):
        assert time.monotonic() < deadline, page[-2000:]
        time.sleep(0.5)
    rid = rid.group(1)
    res = _cli(stack.home, "accept", dataset, "1")
    assert res.returncode == 0 and "accepted" in res.stderr, res.stderr
    deadline = time.monotonic() + 20
    while f'id="review-{rid}"' in (page := alice.request("/")[1]):
        assert time.monotonic() < deadline, "a review answered with aurora accept stays open"
        time.sleep(0.5)


def _settings(stack: Stack) -> Settings:
    return Settings.from_env(home=stack.home)


@pytest.mark.timeout(60)
def test_bad_forged_expired_and_revoked_credentials_are_refused_clearly(stack: Stack,
                                                                        browser) -> None:
    from selenium.webdriver.common.by import By

    now = int(time.time())
    claims = {"sub": "alice", "iat": now, "exp": now + 3600, "jti": uuid.uuid4().hex,
              "aud": AUDIENCE}
    forged = jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm=ALGORITHM)
    issuer = Issuer.from_settings(_settings(stack))
    old = Issued("alice", uuid.uuid4().hex, float(now - 7200), float(now - 3600))
    issuer.registry.add(old)
    expired = jwt.encode({"sub": "alice", "iat": now - 7200, "exp": now - 3600,
                          "jti": old.jti, "aud": AUDIENCE}, issuer.key, algorithm=ALGORITHM)
    carol = _cli(stack.home, "users", "add", "carol").stdout.strip()
    assert _cli(stack.home, "users", "revoke", "carol").returncode == 0
    for credential, words in (("not a token", "malformed"), (forged, "forged"),
                              (expired, "expired"), (carol, "revoked")):
        _sign_in(browser, stack.url, credential)
        error = browser.find_element(By.ID, "error").text
        assert error.startswith("Credential refused") and words in error, error
        assert "Traceback" not in browser.page_source
        browser.get(stack.url + "/")
        assert browser.current_url.endswith("/signin")  # no session was made
    status, body = _Client(stack.url).request("/answer", {"recommendation_id": "x"})
    assert status == 403 and "not signed in" in body
    status, body = _Client(stack.url).request("/nowhere")
    assert status == 404 and "No such page" in body
