"""Sessions end on the server at sign-out, and parallel password guesses are counted one after another (issue 13,
item 3).

Signing out changes the user's session token: every cookie of that user stops working, a copied one too, and so do
their sessions in other browsers (one token per user; see `auth.services.end_sessions`).
"""

import secrets
import threading

import pytest
from sqlalchemy import delete

from pharmacy.auth import services
from pharmacy.auth.models import Role, User
from pharmacy.extensions import db
from pharmacy.facilities.models import Facility, FacilityKind
from pharmacy.facilities.services import create_facility


def _sign_in(client, user, password: str = "correct horse"):
    response = client.post("/login", data={"username": user.username, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return client.get_cookie("session").value


def test_a_session_cookie_copied_before_sign_out_is_refused_after_it(app, client, county):
    user = county.users["township"]
    cookie = _sign_in(client, user)
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    assert thief.get("/api/v1/auth/me").status_code == 200  # the copy works while the session lives

    assert client.post("/logout").status_code == 302
    assert client.get("/api/v1/auth/me").status_code == 401
    assert thief.get("/api/v1/auth/me").status_code == 401
    assert thief.get("/stock/subtree").status_code == 302  # the pages send it to the sign-in form

    _sign_in(client, user)  # signing in again works, with a new cookie
    assert client.get("/api/v1/auth/me").json["username"] == user.username
    assert thief.get("/api/v1/auth/me").status_code == 401


def test_signing_out_of_one_browser_ends_the_users_other_sessions(app, client, county):
    user = county.users["village"]
    _sign_in(client, user)
    tablet = app.test_client()
    _sign_in(tablet, user)
    assert client.post("/logout").status_code == 302
    assert tablet.get("/api/v1/auth/me").status_code == 401
    other = app.test_client()
    _sign_in(other, county.users["township"])  # another person's session is untouched
    assert other.get("/api/v1/auth/me").status_code == 200


def test_sign_out_leaves_api_tokens_working(client, county, db_session):
    from pharmacy.auth import tokens

    user = county.users["township"]
    created = tokens.create_token(user, name="HIS", scopes=["read"], days=30, by=user)
    db_session.commit()
    _sign_in(client, user)
    client.post("/logout")
    api = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {created.plain}"})
    assert api.status_code == 200


# --- parallel guesses ----------------------------------------------------------------------------------------

THREADS = 10
GUESSES_PER_THREAD = 2


@pytest.mark.postgresql
def test_parallel_wrong_passwords_check_at_most_five_guesses(app, monkeypatch):
    tag = secrets.token_hex(3).upper()
    with app.app_context():
        county = create_facility(code=f"LG{tag}", name="锁定测试县", kind=FacilityKind.COUNTY_HOSPITAL)
        user = User(username=f"lg{tag.lower()}", display_name="锁定测试", role=Role.VIEWER, facility=county,
                    session_token=secrets.token_hex(8))
        user.set_password("correct horse battery")  # the production hash: slow, as the attacker meets it
        db.session.add(user)
        db.session.commit()
        user_id, facility_id, username = user.id, county.id, user.username

    checked = []
    checked_lock = threading.Lock()
    real_check = User.check_password

    def counting_check(self, password):
        with checked_lock:
            checked.append(password)
        return real_check(self, password)

    monkeypatch.setattr(User, "check_password", counting_check)
    start = threading.Barrier(THREADS)
    answers: list[tuple[int, str]] = []

    def guess(n: int) -> None:
        browser = app.test_client()
        start.wait()
        for attempt in range(GUESSES_PER_THREAD):
            response = browser.post("/login", data={"username": username, "password": f"guess-{n}-{attempt}"})
            page = response.get_data(as_text=True)
            with checked_lock:
                answers.append((response.status_code, "locked" if "锁定" in page else "wrong"))

    try:
        threads = [threading.Thread(target=guess, args=(n,)) for n in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads)

        assert len(answers) == THREADS * GUESSES_PER_THREAD
        assert {status for status, _kind in answers} == {401}
        assert len(checked) <= services.MAX_FAILED_LOGINS, f"{len(checked)} guesses were checked"
        assert sum(kind == "wrong" for _s, kind in answers) == len(checked) == services.MAX_FAILED_LOGINS
        with app.app_context():
            locked = db.session.get(User, user_id)
            assert locked.locked_until is not None and locked.failed_logins == 0
        # The right password does not open a locked account either, and is not even checked.
        monkeypatch.setattr(User, "check_password", real_check)
        right = app.test_client().post("/login", data={"username": username, "password": "correct horse battery"})
        assert right.status_code == 401 and "锁定" in right.get_data(as_text=True)
    finally:
        with app.app_context():
            db.session.execute(delete(User).where(User.id == user_id))
            db.session.execute(delete(Facility).where(Facility.id == facility_id))
            db.session.commit()
            db.session.remove()
