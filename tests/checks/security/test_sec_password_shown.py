"""SEC-075's test for the audit account's password in an answer: a password of letters only is
also page vocabulary, so only a value shows it; other passwords count anywhere."""

from __future__ import annotations

import pytest

from prodaudit.checks.security.data_exposure import shows_password

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
