"""Single sign-on against a real OpenID Connect provider on loopback, and local two-factor.

Every sign-in here runs the whole code flow over HTTP: the console sends the browser to the
provider (state, nonce, PKCE), the provider's form answers with a code, the console exchanges it
at the token endpoint, checks the RS256 ID token against the provider's JWKS and reads userinfo.
"""

from __future__ import annotations

from io import StringIO
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client, override_settings
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from console.dataflow.models import SsoIdentity
from console.dataflow.people.roles import ADMINS, SUPPORT, TEAM_LEADS, abilities_for
from tests.conftest import PASSWORD
from tests.sso_provider import Provider, provider_running


@pytest.fixture(scope="module")
def provider() -> Provider:
    with provider_running() as running:
        yield running


def sso_sign_in(client: Client, provider: Provider, subject: str, *, next_url: str = "") -> str:
    """Click "Sign in with Corp ID", choose `subject` on the provider's form; where it ends."""
    start = client.get("/accounts/sso/start/" + (f"?next={next_url}" if next_url else ""))
    assert start.status_code == 302
    authorize = start["Location"]
    assert authorize.startswith(f"{provider.url}/oauth2/authorize?")
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    answer = requests.post(authorize, data={"sub": subject}, allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    callback = urlsplit(answer.headers["Location"])
    assert callback.path == "/accounts/sso/callback/"
    response = client.get(f"{callback.path}?{callback.query}")
    assert response.status_code == 302
    return response["Location"]


def refusal_shown(client: Client) -> str:
    page = client.get("/accounts/login/").content.decode()
    marker = 'data-testid="sso-refusal">'
    return page.split(marker, 1)[1].split("</div>", 1)[0] if marker in page else ""


@pytest.mark.django_db
def test_the_sign_in_page_offers_the_provider_only_when_configured(provider):
    page = Client().get("/accounts/login/").content.decode()
    assert "sso-sign-in" not in page
    assert Client().get("/accounts/sso/start/").status_code == 404
    with provider.settings():
        page = Client().get("/accounts/login/").content.decode()
        assert "Sign in with Corp ID" in page
        assert "Or with a local account:" in page


@pytest.mark.django_db
def test_a_lead_signs_in_through_the_provider_with_the_role_of_their_group(provider):
    provider.person(
        "subject-lee-01",
        email="lee@corp.example",
        preferred_username="lee",
        given_name="Lee",
        family_name="Kim",
        groups=["everyone", "dataflow-leads"],
    )
    client = Client()
    with provider.settings():
        landed = sso_sign_in(client, provider, "subject-lee-01", next_url="/history/")
    assert landed == "/history/"
    user = get_user_model().objects.get(username="lee")
    assert (user.email, user.get_full_name()) == ("lee@corp.example", "Lee Kim")
    assert not user.has_usable_password() and not user.is_staff and not user.is_superuser
    assert abilities_for(user).role == TEAM_LEADS
    identity = SsoIdentity.objects.get(user=user)
    assert identity.subject == "subject-lee-01" and identity.issuer == provider.url
    assert identity.groups == ["dataflow-leads", "everyone"]
    page = client.get("/history/")
    assert page.status_code == 200 and 'data-testid="role">Team lead' in page.content.decode()
    # A lead may not edit: the role is the console's, enforced on the server as for anyone.
    assert client.get("/fleet/new/").status_code in (403, 404)


@pytest.mark.django_db
def test_roles_follow_the_groups_at_every_sign_in_and_no_group_is_refused(provider):
    provider.person("subject-sam", preferred_username="sam", groups=["dataflow-support"])
    with provider.settings():
        sso_sign_in(Client(), provider, "subject-sam")
        sam = get_user_model().objects.get(username="sam")
        assert abilities_for(sam).role == SUPPORT

        provider.person("subject-sam", preferred_username="sam", groups=["dataflow-admins"])
        sso_sign_in(Client(), provider, "subject-sam")
        sam.refresh_from_db()
        assert set(sam.groups.values_list("name", flat=True)) == {ADMINS}

        # Moved out of every mapped group at the provider: refused, and the role is gone.
        provider.person("subject-sam", preferred_username="sam", groups=["contractors"])
        client = Client()
        landed = sso_sign_in(client, provider, "subject-sam")
        assert landed == "/accounts/login/"
        assert "_auth_user_id" not in client.session
        assert "none of the groups" in refusal_shown(client)
        assert not sam.groups.exists()
        assert get_user_model().objects.filter(username__startswith="sam").count() == 1


@pytest.mark.django_db
def test_a_role_group_deleted_by_hand_is_made_again_at_sign_in(provider):
    from django.contrib.auth.models import Group

    Group.objects.filter(name=TEAM_LEADS).delete()
    provider.person("subject-lou", preferred_username="lou", groups=["dataflow-leads"])
    with provider.settings():
        sso_sign_in(Client(), provider, "subject-lou")
    lou = get_user_model().objects.get(username="lou")
    assert abilities_for(lou).role == TEAM_LEADS and lou.has_perm("dataflow.review_history")


@pytest.mark.django_db
def test_nobody_without_a_mapped_group_gets_an_account(provider):
    provider.person("subject-stranger", preferred_username="stranger", groups="marketing")
    client = Client()
    with provider.settings():
        assert sso_sign_in(client, provider, "subject-stranger") == "/accounts/login/"
        assert "none of the groups" in refusal_shown(client)
    assert not get_user_model().objects.filter(username="stranger").exists()


@pytest.mark.django_db
def test_a_provider_account_never_takes_over_a_local_account_of_the_same_name(provider, admin_user):
    # alice is a local admin (a break-glass account). An IdP user claiming her name and mail
    # becomes a person of their own, with the role of their own groups.
    admin_user.email = "alice@corp.example"
    admin_user.save()
    provider.person(
        "subject-other-alice",
        preferred_username="alice",
        email="alice@corp.example",
        groups=["dataflow-support"],
    )
    client = Client()
    with provider.settings():
        sso_sign_in(client, provider, "subject-other-alice")
    newcomer = SsoIdentity.objects.get(subject="subject-other-alice").user
    assert newcomer.pk != admin_user.pk and newcomer.username == "alice-sso"
    assert abilities_for(newcomer).role == SUPPORT
    assert client.session["_auth_user_id"] == str(newcomer.pk)
    admin_user.refresh_from_db()
    assert admin_user.check_password(PASSWORD) and abilities_for(admin_user).role == ADMINS


@pytest.mark.django_db
def test_a_denied_or_forged_answer_signs_nobody_in_and_says_why(provider):
    with provider.settings():
        client = Client()
        authorize = client.get("/accounts/sso/start/")["Location"]
        denied = requests.post(authorize, data={"action": "deny"}, allow_redirects=False, timeout=5)
        back = urlsplit(denied.headers["Location"])
        assert client.get(f"{back.path}?{back.query}")["Location"] == "/accounts/login/"
        assert refusal_shown(client) == "The identity provider did not sign you in."

        # A code for a state this browser never started: no 500, nobody signed in.
        stranger = Client()
        response = stranger.get("/accounts/sso/callback/?code=made-up&state=made-up")
        assert response.status_code == 302 and "_auth_user_id" not in stranger.session

        # A state this browser started, with a code the provider never issued.
        client = Client()
        state = parse_qs(urlsplit(client.get("/accounts/sso/start/")["Location"]).query)["state"][0]
        response = client.get(f"/accounts/sso/callback/?code=forged&state={state}")
        assert response["Location"] == "/accounts/login/"
        assert "_auth_user_id" not in client.session
        assert refusal_shown(client)


@pytest.mark.django_db
def test_an_unreachable_provider_is_a_sentence_not_a_500(provider):
    provider.person("subject-una", preferred_username="una", groups=["dataflow-leads"])
    client = Client()
    with provider.settings():
        authorize = client.get("/accounts/sso/start/")["Location"]
        answer = requests.post(
            authorize, data={"sub": "subject-una"}, allow_redirects=False, timeout=5
        )
        callback = urlsplit(answer.headers["Location"])
    with provider.settings(OIDC_OP_TOKEN_ENDPOINT="http://127.0.0.1:9/oauth2/token"):
        response = client.get(f"{callback.path}?{callback.query}")
        assert response["Location"] == "/accounts/login/"
        assert "could not be reached" in refusal_shown(client)


@pytest.mark.django_db
def test_with_local_sign_in_for_superusers_only_the_password_form_is_break_glass(
    provider, admin_user
):
    root = get_user_model().objects.create_superuser("root", password=PASSWORD)
    with provider.settings(LOCAL_SIGNIN="superusers"):
        page = Client().get("/accounts/login/").content.decode()
        assert "break-glass superusers only" in page
        client = Client()
        refused = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
        assert refused.status_code == 200 and "_auth_user_id" not in client.session
        assert "password form is for break-glass superusers" in refused.content.decode()
        allowed = client.post("/accounts/login/", {"username": "root", "password": PASSWORD})
        assert allowed.status_code == 302 and client.session["_auth_user_id"] == str(root.pk)


@pytest.mark.django_db
def test_a_person_from_the_provider_cannot_use_a_password_reset(provider, settings):
    provider.person(
        "subject-rita",
        preferred_username="rita",
        email="rita@corp.example",
        groups=["dataflow-admins"],
    )
    with provider.settings():
        sso_sign_in(Client(), provider, "subject-rita")
    settings.EMAIL_URL = "locmem://"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    from django.core import mail

    Client().post("/accounts/password_reset/", {"email": "rita@corp.example"})
    assert mail.outbox == []  # no usable password: nothing to reset


# --- Two-factor sign-in for local accounts ---------------------------------------------------


def _code(device: TOTPDevice, offset: int = 0) -> str:
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=offset)
    return f"{code:06d}"


@pytest.mark.django_db
@override_settings(TWO_FACTOR_LOCAL=True)
def test_a_local_admin_sets_up_an_app_then_needs_a_code_at_every_sign_in(admin_user):
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": PASSWORD, "next": "/history/"}
    )
    assert response.status_code == 302
    # Nothing but the two-factor page answers yet, whatever was asked for.
    gate = client.get("/history/")
    assert gate.status_code == 302 and gate["Location"].startswith(
        "/accounts/two-factor/?next=/history/"
    )
    htmx = client.get("/", headers={"HX-Request": "true"})
    assert htmx.status_code == 204 and htmx["HX-Redirect"].startswith("/accounts/two-factor/")
    assert client.get("/django-admin/").status_code == 302

    setup = client.get("/accounts/two-factor/?next=/history/")
    body = setup.content.decode()
    assert (
        "Set up two-factor sign-in" in body
        and "<svg" in body
        and 'data-testid="two-factor-key"' in body
    )
    device = TOTPDevice.objects.get(user=admin_user)
    assert not device.confirmed
    assert client.get("/accounts/two-factor/").content.decode().count("<svg") == 1
    assert TOTPDevice.objects.filter(user=admin_user).count() == 1  # a reload keeps the key

    wrong = client.post(
        "/accounts/two-factor/",
        {"code": "000000" if _code(device) != "000000" else "111111", "next": "/history/"},
    )
    assert wrong.status_code == 200 and "That code is not right" in wrong.content.decode()
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    done = client.post("/accounts/two-factor/", {"code": _code(device), "next": "/history/"})
    assert done.status_code == 302 and done["Location"] == "/history/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/history/").status_code == 200

    # The next sign-in asks for a code and offers no new QR code; the language switch works.
    again = Client()
    again.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    switched = again.post("/language/", {"language": "ko", "next": "/accounts/two-factor/"})
    assert switched["Location"] == "/accounts/two-factor/"
    page = again.get("/accounts/two-factor/").content.decode()
    assert "인증 앱에 표시된 이 콘솔의 코드를 입력하세요." in page and "<svg" not in page
    # The code that set the app up is not accepted a second time.
    reused = again.post("/accounts/two-factor/", {"code": _code(device)})
    assert reused.status_code == 200 and "_otp_device_id" not in again.session
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    later = _code(device, offset=1)  # the code already used is not accepted twice
    assert again.post("/accounts/two-factor/", {"code": later})["Location"] == "/"
    assert again.get("/").status_code == 200
    # Superusers can remove a device in Django admin too.
    get_user_model().objects.create_superuser("root", password=PASSWORD)
    TOTPDevice.objects.create(user=get_user_model().objects.get(username="root"), name="app")
    root = Client()
    root.post("/accounts/login/", {"username": "root", "password": PASSWORD})
    root_device = TOTPDevice.objects.get(user__username="root")
    root.post("/accounts/two-factor/", {"code": _code(root_device)})
    assert root.get("/django-admin/otp_totp/totpdevice/").status_code == 200


@pytest.mark.django_db
@override_settings(TWO_FACTOR_LOCAL=True)
def test_wrong_codes_are_throttled_and_a_reset_removes_a_lost_app(admin_user):
    device = TOTPDevice.objects.create(user=admin_user, name="app", confirmed=True)
    client = Client()
    client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    right = _code(device)
    wrong = "123456" if right != "123456" else "654321"
    client.post("/accounts/two-factor/", {"code": wrong})
    throttled = client.post("/accounts/two-factor/", {"code": right})
    assert "Too many wrong codes" in throttled.content.decode()
    assert client.get("/").status_code == 302

    out = StringIO()
    call_command("two_factor_reset", "alice", stdout=out)
    assert "Removed 1 authenticator app" in out.getvalue()
    assert not TOTPDevice.objects.filter(user=admin_user).exists()
    assert "_auth_user_id" not in client.session  # that session was signed out


@pytest.mark.django_db
@override_settings(TWO_FACTOR_LOCAL=True)
def test_single_sign_on_is_not_asked_for_a_local_second_factor(provider):
    provider.person("subject-ida", preferred_username="ida", groups=["dataflow-admins"])
    client = Client()
    with provider.settings():
        sso_sign_in(client, provider, "subject-ida")
        assert client.get("/").status_code == 200


@pytest.mark.django_db
def test_without_two_factor_a_password_is_enough(admin_user):
    client = Client()
    client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert client.get("/").status_code == 200
    assert client.get("/accounts/two-factor/")["Location"] == "/"


@pytest.mark.django_db
def test_signing_out_ends_the_providers_session_too_when_its_endpoint_is_set(provider):
    provider.person("subject-ada", preferred_username="ada", groups=["dataflow-admins"])
    end_session = f"{provider.url}/oauth2/end_session"
    client = Client()
    with provider.settings(OIDC_OP_LOGOUT_ENDPOINT=end_session):
        sso_sign_in(client, provider, "subject-ada")
        id_token = client.session["oidc_id_token"]
        out = client.post("/accounts/logout/")
    assert out.status_code == 302
    target = urlsplit(out["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == end_session
    query = parse_qs(target.query)
    assert query["id_token_hint"] == [id_token]
    assert query["post_logout_redirect_uri"] == ["http://testserver/accounts/login/"]
    assert "_auth_user_id" not in client.session  # signed out here first
    # The provider takes the hint and sends the browser back to the sign-in page.
    confirm = requests.post(
        f"{provider.url}/oauth2/end_session/confirm",
        data={"redirect_uri": query["post_logout_redirect_uri"][0]},
        allow_redirects=False,
        timeout=5,
    )
    assert confirm.headers["Location"] == "http://testserver/accounts/login/"


@pytest.mark.django_db
def test_a_local_account_or_no_endpoint_signs_out_here_only(provider, admin_user):
    client = Client()
    client.force_login(admin_user)
    with provider.settings(OIDC_OP_LOGOUT_ENDPOINT=f"{provider.url}/oauth2/end_session"):
        out = client.post("/accounts/logout/")
    assert out.status_code == 302 and out["Location"] == "/accounts/login/"
    provider.person("subject-bo", preferred_username="bo", groups=["dataflow-leads"])
    sso = Client()
    with provider.settings():  # no end_session endpoint configured
        sso_sign_in(sso, provider, "subject-bo")
        out = sso.post("/accounts/logout/")
    assert out["Location"] == "/accounts/login/"
