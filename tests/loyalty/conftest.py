import pytest


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """Staff users are made in nearly every test here; a fast hasher keeps the permission matrix quick."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
