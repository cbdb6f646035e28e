"""SEC-075 units: the audit account's password in an answer (a password of letters only is also
page vocabulary, so only a value shows it; other passwords count anywhere), and an address the
request carried, echoed back with its domain lower-cased, is no exposure."""

from __future__ import annotations

import pytest

from prodaudit.checks.security.data_exposure import answer_exposures, shows_password
from prodaudit.http import Exchange

LOGIN_FORM = ('<form method="post"><label for="password">Password</label>'
              '<input type="password" name="password" id="password"></form>')


@pytest.mark.parametrize(("text", "password", "shown"), [
    (LOGIN_FORM, "password", False),  # the form's vocabulary, not the account's password
    ('{"username": "j.doe", "password": "password"}', "password", True),
    ('<input name="pw" value="password">', "password", True),
    ("<b>Password: </b> Batman@123<br>", "Batman@123", True),
    ('{"user": "batman"}', "Batman@123", False),
    ('{"note": "passwords are hashed"}', "passwords", False),
])
def test_shows_password(text: str, password: str, shown: bool) -> None:
    assert shows_password(text, password) is shown


def test_an_echoed_address_with_its_domain_lower_cased_is_not_an_exposure() -> None:
    """Validators (pydantic's EmailStr) lower-case the domain of the address they echo."""
    sent = b'{"email": "IuLWFNrK@n.Jh1NweC.Example.Org", "password": "x"}'
    echo = b'{"id": 7, "email": "IuLWFNrK@n.jh1nwec.example.org"}'
    ex = Exchange("POST", "http://127.0.0.1:9/api/v1/user", {}, sent, 201,
                  {"content-type": "application/json"}, echo)
    assert answer_exposures(ex, set()) == []
    other = Exchange("POST", "http://127.0.0.1:9/api/v1/user", {}, sent, 201,
                     {"content-type": "application/json"}, echo.replace(b"IuLWFNrK", b"bob"))
    assert [rule for rule, _ in answer_exposures(other, set())] == ["email-anonymous"]
