"""The review page (``aurora serve``): a person signs in with her credential, sees her open
review requests and recent recommendations, answers with one click, and reads her learned
rules and privacy report.

Plain server-rendered HTML with small forms, no JavaScript framework: every action is one
POST that the server checks (session, CSRF token, ownership of the recommendation) and
answers with a redirect, so the page works in any browser, is testable end to end with a
real headless browser, and has no client code that could be trusted with a user name.

What a user is, is her verified credential (``identity.verify``), never a form field: the
session holds the token she pasted, every request re-verifies it (signature, expiry,
revocation, cached for AURORA_IDENTITY_CACHE_SECONDS), corrections go out through the
``FeedbackClient`` signed with that token, and a recommendation is shown or answered only
when its sealed ``user_id`` is hers. Recommendations carry column positions, never names
(nothing after the parse stage keeps a name), so a column is shown as ``#position`` of the
dataset id her publish printed.

Sessions live in this process only (a random 256-bit id in an HttpOnly, SameSite=Strict
cookie, HMAC-signed with a random per-process secret): restarting ``aurora serve`` signs
everyone out, which is the safe default for a loopback tool.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import html
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from aurora_stream.client.consume import consumer, start_positioned
from aurora_stream.client.feedback import CorrectionRefused, FeedbackClient, correction_for
from aurora_stream.config import Settings
from aurora_stream.identity.tokens import TOKEN_HEADER
from aurora_stream.identity.verify import IdentityRefused, Verifier
from aurora_stream.recommend.seal import check
from aurora_stream.vocab import ALL_TRANSFORMATIONS, FEATURE_TYPES, IMPUTATIONS
from aurora_stream.wire.records import (
    Correction,
    InvalidEvent,
    LearnEvent,
    Recommendation,
    Refusal,
    ReviewRequest,
    decode,
)
from aurora_stream.wire.topics import (
    CORRECTIONS,
    LEARN_EVENTS,
    RECOMMENDATIONS,
    REFUSALS,
    REVIEW_REQUESTS,
)

log = logging.getLogger(__name__)
COOKIE = "aurora_session"
SESSION_SECONDS = 8 * 3600
RECENT = 50
ANSWER_TIMEOUT = 30.0


@dataclass
class Session:
    user: str
    token: str
    csrf: str
    created: float
    flash: list[str] = field(default_factory=list)


@dataclass
class Answer:
    """What happened to the answer a user gave on this page to one recommendation."""

    outcome: str  # applied, duplicate, refused, timeout
    message: str


class Feed:
    """Recommendations and review requests read from the broker (from the start), kept in
    memory; recommendations whose seal does not verify are dropped, so their ``user_id`` is
    the one the worker issued them to."""

    def __init__(self, bootstrap: str, sealing_key: bytes | None) -> None:
        self.bootstrap = bootstrap
        self.sealing_key = sealing_key
        self.recs: dict[str, Recommendation] = {}
        self.reviews: dict[str, ReviewRequest] = {}
        self.refusals: dict[str, list[Refusal]] = {}
        self.answers: dict[str, Answer] = {}  # recommendation id -> answer given here
        # answers given anywhere (aurora correct/accept, a pipeline): a correction's
        # recommendation id, closed once the worker's learn event says it was applied for
        # that user (a forged correction is dead-lettered and never closes anything)
        self._asked: dict[str, str] = {}  # correction id -> recommendation id
        self._learned: dict[str, str] = {}  # correction id -> user the worker applied it for
        self.closed: set[tuple[str, str]] = set()
        self.ready = asyncio.Event()

    async def run(self) -> None:
        kafka = consumer(self.bootstrap, RECOMMENDATIONS, REVIEW_REQUESTS, REFUSALS,
                         CORRECTIONS, LEARN_EVENTS, from_start=True)
        await start_positioned(kafka)
        self.ready.set()
        try:
            while True:
                batch = await kafka.getmany(timeout_ms=300, max_records=2000)
                for tp, msgs in batch.items():
                    for m in msgs:
                        self._absorb(tp.topic, m.value)
        finally:
            await kafka.stop()

    def _absorb(self, topic: str, value: bytes | None) -> None:
        try:
            if topic == RECOMMENDATIONS:
                rec = decode(Recommendation, value)
                if self.sealing_key is None or check(self.sealing_key, rec.asdict()) is None:
                    self.recs[rec.recommendation_id] = rec
            elif topic == REVIEW_REQUESTS:
                rr = decode(ReviewRequest, value)
                self.reviews[rr.recommendation_id] = rr
            elif topic == CORRECTIONS:
                c = decode(Correction, value)
                self._asked[c.correction_id] = c.recommendation_id
                self._close(c.correction_id)
            elif topic == LEARN_EVENTS:
                ev = decode(LearnEvent, value)
                if ev.kind in ("applied", "duplicate"):
                    self._learned[ev.correction_id] = ev.user_id
                    self._close(ev.correction_id)
            else:
                ref = decode(Refusal, value)
                self.refusals.setdefault(ref.user_id, []).append(ref)
        except InvalidEvent:
            pass  # the worker dead-letters invalid events; nothing to show

    def _close(self, correction_id: str) -> None:
        rid, user = self._asked.get(correction_id), self._learned.get(correction_id)
        if rid is not None and user is not None:
            self.closed.add((rid, user))  # shown as closed only to that user, if it is hers

    def owned(self, rec_id: str, user: str) -> Recommendation | None:
        """The recommendation if it exists and was issued to ``user``; else None (another
        user's recommendation looks exactly like a missing one)."""
        rec = self.recs.get(rec_id)
        return rec if rec is not None and rec.user_id == user else None

    def open_reviews(self, user: str) -> list[tuple[Recommendation, ReviewRequest]]:
        """Her review requests not answered yet (here or by any client), newest first."""
        out = []
        for rid, rr in self.reviews.items():
            rec = self.owned(rid, user)
            if rec is not None and rr.user_id == user and rid not in self.answers \
                    and (rid, user) not in self.closed:
                out.append((rec, rr))
        return sorted(out, key=lambda x: (-x[0].created_at, x[0].column))

    def recent(self, user: str) -> list[Recommendation]:
        mine = [r for r in self.recs.values() if r.user_id == user]
        return sorted(mine, key=lambda r: (-r.created_at, r.column))[:RECENT]


def sealing_key(settings: Settings) -> bytes | None:
    """The key that checks recommendation seals, when this machine holds it (embedded home,
    or AURORA_STATE_KEY set); without it recommendations are trusted as the broker gives
    them and the workers still refuse a correction of an unsealed or foreign one."""
    from aurora_stream.learn.store import state_key
    from aurora_stream.recommend.seal import seal_key

    if not (settings.embedded or settings.state_key):
        return None
    return seal_key(state_key(settings.ensure_home(), settings.state_key))


def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


def _triple(o: dict[str, Any] | Recommendation) -> tuple[str, str, str]:
    if isinstance(o, Recommendation):
        return o.feature_type, o.transformation, o.imputation
    return str(o.get("feature_type")), str(o.get("transformation")), str(o.get("imputation"))


PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{title}</title><style>
body{{font-family:sans-serif;margin:2em;max-width:70em}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top}}
.msg{{background:#eef;padding:.5em;margin:.5em 0}} .err{{background:#fee}}
form.inline{{display:inline}}</style></head><body>{body}</body></html>"""


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(PAGE.format(title=_e(title), body=body), status_code=status,
                        headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                                 "Content-Security-Policy": "default-src 'self'; "
                                 "style-src 'unsafe-inline'"})


class ReviewApp:
    """The Starlette application and what it holds: sessions, the feed, the feedback client."""

    def __init__(self, settings: Settings, bootstrap: str, *,
                 verifier: Verifier | None = None) -> None:
        self.settings = settings
        self.bootstrap = bootstrap
        self.verifier = verifier or Verifier.from_settings(settings)
        self.feed = Feed(bootstrap, sealing_key(settings))
        self.secret = secrets.token_bytes(32)
        self.sessions: dict[str, Session] = {}
        self.feedback: FeedbackClient | None = None
        self._tasks: list[asyncio.Task] = []
        self._send_lock = asyncio.Lock()
        self.app = Starlette(routes=[
            Route("/", self.home, methods=["GET"]),
            Route("/signin", self.signin, methods=["GET", "POST"]),
            Route("/signout", self.signout, methods=["POST"]),
            Route("/answer", self.answer, methods=["POST"]),
            Route("/rules", self.rules, methods=["GET"]),
            Route("/privacy", self.privacy, methods=["GET"]),
        ], lifespan=self._lifespan, exception_handlers={Exception: self._error,
                                                        404: self._not_found,
                                                        405: self._not_found})

    @contextlib.asynccontextmanager
    async def _lifespan(self, _app: Starlette):
        self._tasks.append(asyncio.ensure_future(self.feed.run()))
        self.feedback = await FeedbackClient(self.bootstrap).start()
        await asyncio.wait_for(self.feed.ready.wait(), 30)
        try:
            yield
        finally:
            for t in self._tasks:
                t.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
            await self.feedback.stop()

    # --- sessions ---------------------------------------------------------------------------
    def _cookie_value(self, sid: str) -> str:
        mac = hmac.new(self.secret, sid.encode(), hashlib.sha256).hexdigest()
        return f"{sid}.{mac}"

    def _session(self, request: Request) -> Session | None:
        """The request's session, if its cookie is ours, not expired, and its credential
        still verifies (a revoked or expired credential ends the session)."""
        raw = request.cookies.get(COOKIE, "")
        sid, _, mac = raw.partition(".")
        good = hmac.new(self.secret, sid.encode(), hashlib.sha256).hexdigest()
        if not sid or not hmac.compare_digest(mac, good):
            return None
        s = self.sessions.get(sid)
        if s is None or time.time() - s.created > SESSION_SECONDS:
            self.sessions.pop(sid, None)
            return None
        try:
            if self.verifier.user_of({TOKEN_HEADER: s.token.encode()}, s.user) != s.user:
                return None
        except IdentityRefused:
            self.sessions.pop(sid, None)
            return None
        return s

    def _signin_page(self, message: str = "", status: int = 200) -> HTMLResponse:
        msg = f'<p class="msg err" id="error">{_e(message)}</p>' if message else ""
        return page("AURORA review: sign in", f"""<h1>AURORA review</h1>{msg}
<form method="post" action="/signin"><p><label for="credential">Your credential
(the token <code>aurora users add NAME</code> printed):</label></p>
<textarea id="credential" name="credential" rows="4" cols="80"></textarea>
<p><button id="signin" type="submit">Sign in</button></p></form>""", status)

    async def signin(self, request: Request) -> Response:
        if request.method == "GET":
            return self._signin_page()
        form = await request.form()
        token = str(form.get("credential") or "").strip()
        if not token:
            return self._signin_page("Paste your credential to sign in.", 400)
        try:
            user = self.verifier.user_of({TOKEN_HEADER: token.encode()}, None)
        except IdentityRefused as exc:
            return self._signin_page(f"Credential refused: {exc}.", 403)
        sid = secrets.token_urlsafe(32)
        self.sessions[sid] = Session(user, token, secrets.token_urlsafe(32), time.time())
        resp = RedirectResponse("/", status_code=303)
        resp.set_cookie(COOKIE, self._cookie_value(sid), httponly=True, samesite="strict",
                        max_age=SESSION_SECONDS, path="/")
        return resp

    async def _checked_form(self, request: Request) -> tuple[Session | None, Any]:
        s = self._session(request)
        form = await request.form()
        if s is None or not hmac.compare_digest(str(form.get("csrf") or ""), s.csrf):
            return None, form
        return s, form

    async def signout(self, request: Request) -> Response:
        s, _ = await self._checked_form(request)
        if s is not None:
            for sid, v in list(self.sessions.items()):
                if v is s:
                    del self.sessions[sid]
        resp = RedirectResponse("/signin", status_code=303)
        resp.delete_cookie(COOKIE, path="/")
        return resp

    # --- pages ------------------------------------------------------------------------------
    def _nav(self, s: Session) -> str:
        return (f'<p>Signed in as <b id="user">{_e(s.user)}</b> · <a href="/">reviews</a> · '
                f'<a href="/rules">learned rules</a> · <a href="/privacy">privacy report</a> '
                f'<form class="inline" method="post" action="/signout">'
                f'<input type="hidden" name="csrf" value="{_e(s.csrf)}">'
                f'<button id="signout">Sign out</button></form></p>')

    def _flash(self, s: Session) -> str:
        out = "".join(f'<p class="msg" id="message">{_e(m)}</p>' for m in s.flash)
        s.flash.clear()
        return out

    def _review_card(self, s: Session, rec: Recommendation, rr: ReviewRequest) -> str:
        rid = _e(rec.recommendation_id)
        hidden = (f'<input type="hidden" name="csrf" value="{_e(s.csrf)}">'
                  f'<input type="hidden" name="recommendation_id" value="{rid}">')
        rows = []
        options = rr.options or rec.alternatives
        for i, o in enumerate(options[:3]):
            ft, tr, im = _triple(o)
            chosen = (ft, tr, im) == _triple(rec)
            label = "Accept" if chosen else "Pick this"
            choice = "accept" if chosen else f"pick-{i}"
            conf = o.get("confidence")
            rows.append(
                f"<tr><td>{i + 1}</td><td>{_e(ft)}</td><td>{_e(tr)}</td><td>{_e(im)}</td>"
                f"<td>{'' if conf is None else f'{float(conf):.0%}'}</td>"
                f"<td>{_e(o.get('reason', ''))}</td><td><form class=\"inline\" method=\"post\" "
                f"action=\"/answer\">{hidden}<input type=\"hidden\" name=\"choice\" "
                f"value=\"{choice}\"><button class=\"{choice.split('-')[0]}\" "
                f"id=\"{choice}-{rid}\">{label}</button></form></td></tr>")
        selects = "".join(
            f'<select name="{name}"><option value="">({what} unchanged)</option>' + "".join(
                f'<option value="{_e(v)}">{_e(v)}</option>' for v in vocab) + "</select> "
            for name, what, vocab in (("feature_type", "type", FEATURE_TYPES),
                                      ("transformation", "action", ALL_TRANSFORMATIONS),
                                      ("imputation", "imputation", IMPUTATIONS)))
        return f"""<div class="review" id="review-{rid}"><h3>dataset {_e(rec.dataset_id)},
column #{rec.column}</h3><p>Recommended <b>{_e(rec.feature_type)} / {_e(rec.transformation)}
/ {_e(rec.imputation)}</b> at {rec.confidence:.0%} ({_e(rec.layer)}): {_e(rr.reason)}</p>
<table><tr><th>#</th><th>type</th><th>transformation</th><th>imputation</th>
<th>confidence</th><th>reason</th><th></th></tr>{''.join(rows)}</table>
<form method="post" action="/answer">{hidden}<input type="hidden" name="choice"
value="correct">Correct: {selects}<button class="correct" id="correct-{rid}">Correct
</button></form></div>"""

    async def home(self, request: Request) -> Response:
        s = self._session(request)
        if s is None:
            return RedirectResponse("/signin", status_code=303)
        reviews = self.feed.open_reviews(s.user)
        cards = "".join(self._review_card(s, rec, rr) for rec, rr in reviews) or \
            '<p id="no-reviews">No open review requests.</p>'
        recent = self.feed.recent(s.user)
        rows = "".join(
            f'<tr class="rec" data-dataset="{_e(r.dataset_id)}" data-column="{r.column}">'
            f"<td>{_e(r.dataset_id)}</td><td>#{r.column}</td><td class=\"ft\">"
            f"{_e(r.feature_type)}</td><td class=\"tr\">{_e(r.transformation)}</td>"
            f"<td class=\"im\">{_e(r.imputation)}</td><td>{r.confidence:.0%}</td>"
            f"<td>{_e(r.layer)}</td><td class=\"mv\">{_e(r.model_version)}</td>"
            f"<td>{'yes' if r.needs_review else ''}</td><td>{_e(r.reason)}</td></tr>"
            for r in recent)
        refusals = "".join(f"<li>{_e(time.strftime('%H:%M:%S', time.gmtime(x.created_at)))} "
                           f"{_e(x.kind)}: {_e(x.reason)}</li>"
                           for x in self.feed.refusals.get(s.user, [])[-10:])
        return page("AURORA review", f"""<h1>AURORA review</h1>{self._nav(s)}{self._flash(s)}
<h2>Open review requests ({len(reviews)})</h2>{cards}
<h2>Recent recommendations</h2><table id="recent"><tr><th>dataset</th><th>column</th>
<th>type</th><th>transformation</th><th>imputation</th><th>confidence</th><th>layer</th>
<th>model</th><th>review</th><th>reason</th></tr>{rows}</table>
{f'<h2>Refusals</h2><ul id="refusals">{refusals}</ul>' if refusals else ''}""")

    async def answer(self, request: Request) -> Response:
        s, form = await self._checked_form(request)
        if s is None:
            return page("AURORA review: refused", '<p class="msg err" id="error">Refused: '
                        'not signed in, or the form is stale (missing CSRF token). '
                        '<a href="/signin">Sign in</a></p>', 403)
        rid = str(form.get("recommendation_id") or "")
        rec = self.feed.owned(rid, s.user)
        if rec is None:
            s.flash.append("Refused: no recommendation of yours has that id.")
            return page("AURORA review: refused", f'{self._nav(s)}<p class="msg err" '
                        'id="error">Refused: no recommendation of yours has that id; nothing '
                        'was sent or learned.</p>', 403)
        choice = str(form.get("choice") or "")
        fields: dict[str, str | None] = {}
        accepted = False
        if choice == "accept":
            accepted = True
        elif choice.startswith("pick-") and choice[5:].isdigit():
            rr = self.feed.reviews.get(rid)
            options = (rr.options if rr else None) or rec.alternatives
            i = int(choice[5:])
            if i >= len(options):
                s.flash.append("Refused: no such option.")
                return RedirectResponse("/", status_code=303)
            ft, tr, im = _triple(options[i])
            fields = {"feature_type": ft, "transformation": tr, "imputation": im}
            accepted = (ft, tr, im) == _triple(rec)
            if accepted:
                fields = {}
        elif choice == "correct":
            fields = {k: (str(form.get(k) or "") or None)
                      for k in ("feature_type", "transformation", "imputation")}
            if not any(fields.values()):
                s.flash.append("Choose at least one of type, transformation, imputation.")
                return RedirectResponse("/", status_code=303)
        else:
            s.flash.append("Refused: unknown answer.")
            return RedirectResponse("/", status_code=303)
        try:
            event = correction_for(rec, user_id=s.user, accepted=accepted, **fields)
        except ValueError as exc:
            s.flash.append(f"Refused: {exc}")
            return RedirectResponse("/", status_code=303)
        what = "accepted" if accepted else "corrected to " + " / ".join(
            str(v) for v in fields.values() if v)
        where = f"column #{rec.column} of {rec.dataset_id}"
        try:
            async with self._send_lock:
                self.feedback.tokens[s.user] = s.token
                done = await self.feedback.send_and_wait([event], timeout=ANSWER_TIMEOUT)
            le = done[event.correction_id]
            msg = (f"{where} {what}: {le.kind}, now served by model "
                   f"{le.detail.get('model_version', '')}.")
            self.feed.answers[rid] = Answer(le.kind, msg)
        except CorrectionRefused as exc:
            msg = f"{where}: the worker refused the answer: {next(iter(exc.reasons.values()))}"
            self.feed.answers.pop(rid, None)
        except TimeoutError:
            msg = (f"{where}: the worker has not confirmed the answer within "
                   f"{ANSWER_TIMEOUT:.0f}s (see Refusals below; try again later).")
        s.flash.append(msg)
        return RedirectResponse("/", status_code=303)

    async def _learner(self, user: str):
        from aurora_stream.learn.persistence import build_learner
        from aurora_stream.recommend.cache import InProcessCache

        st = self.settings

        def build():
            learner = build_learner(st.ensure_home(), InProcessCache(),
                                    epsilon_per_day=st.epsilon_per_day,
                                    rule_support=st.rule_support,
                                    redis_url=st.redis_url if st.shared_state else None,
                                    key_hex=st.state_key, dp_mechanism=st.dp_mechanism)
            learner.ensure(user)
            return learner

        return await asyncio.to_thread(build)

    async def rules(self, request: Request) -> Response:
        s = self._session(request)
        if s is None:
            return RedirectResponse("/signin", status_code=303)
        learner = await self._learner(s.user)
        items = learner.rules.rules_for(s.user)
        rows = "".join(
            f"<tr class=\"rule\"><td>{_e(r['id'])}</td><td>{_e(r['feature_type'])}</td>"
            f"<td>{_e(r.get('transformation'))}</td><td>{_e(r.get('imputation'))}</td>"
            f"<td>{r['support']}</td><td>{r['successes']}</td><td>{r['failures']}</td>"
            f"<td>{r['confidence']:.2f}</td><td>{'yes' if r['active'] else 'no'}</td>"
            f"<td>{_e(r['region'])}</td></tr>" for r in items)
        none = (f'<p id="no-rules">No rules yet: a rule is induced after {learner.rules.k} '
                "consistent corrections of the same kind of column.</p>") if not items else ""
        return page("AURORA review: learned rules", f"""<h1>Learned rules</h1>{self._nav(s)}
<p>Model serving you: <code id="model">{_e(learner.bank.version(s.user))}</code></p>{none}
<table id="rules"><tr><th>id</th><th>type</th><th>transformation</th><th>imputation</th>
<th>support</th><th>successes</th><th>failures</th><th>confidence</th><th>active</th>
<th>region</th></tr>{rows}</table>""")

    async def privacy(self, request: Request) -> Response:
        import orjson

        from aurora_stream.privacy.dp import privacy_report

        s = self._session(request)
        if s is None:
            return RedirectResponse("/signin", status_code=303)
        report = privacy_report((await self._learner(s.user)).privacy, s.user)
        rows = "".join(f"<tr><td>{_e(k)}</td><td>{_e(v if isinstance(v, str) else orjson.dumps(v).decode())}</td></tr>"  # noqa: E501
                       for k, v in report.items())
        return page("AURORA review: privacy report", f"""<h1>Privacy report</h1>
{self._nav(s)}<table id="privacy"><tr><th>item</th><th>value</th></tr>{rows}</table>""")

    async def _not_found(self, request: Request, exc: Exception) -> Response:
        return page("AURORA review: not found", '<p class="msg err" id="error">No such page. '
                    '<a href="/">Back</a></p>', 404)

    async def _error(self, request: Request, exc: Exception) -> Response:
        log.exception("review page error")
        return page("AURORA review: error", f'<p class="msg err" id="error">Something went '
                    f'wrong: {_e(str(exc) or type(exc).__name__)}. <a href="/">Back</a></p>',
                    500)


def serve(settings: Settings, bootstrap: str, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Run the review page with uvicorn until Ctrl-C."""
    import uvicorn

    uvicorn.run(ReviewApp(settings, bootstrap).app, host=host, port=port, log_level="warning",
                lifespan="on")
