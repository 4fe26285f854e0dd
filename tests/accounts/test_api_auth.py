"""Every API endpoint but health needs a bearer token (or a session); roles decide who may write."""

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from apps.accounts.models import ApiToken, hash_token
from apps.plant.models import Machine
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

PROTECTED = ["/api/machines", "/api/sensors", "/api/schema"]


@pytest.mark.parametrize("url", PROTECTED)
def test_no_token_gets_401_with_a_json_reason(anon_client, url):
    response = anon_client.get(url)
    assert response.status_code == 401
    assert "json" in response["Content-Type"]
    assert "credentials were not provided" in response.json()["detail"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_detail_endpoints_need_a_token_too(anon_client, plant):
    assert anon_client.get(f"/api/machines/{plant['pump'].pk}").status_code == 401
    assert anon_client.get(f"/api/sensors/{plant['flow'].pk}").status_code == 401


def test_wrong_token_gets_401_naming_the_reason(anon_client):
    anon_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-real-token")
    response = anon_client.get("/api/machines")
    assert response.status_code == 401
    assert response.json()["detail"] == "The token is unknown, revoked or expired."


def test_malformed_authorization_header_gets_401(anon_client):
    anon_client.credentials(HTTP_AUTHORIZATION="Bearer two parts")
    response = anon_client.get("/api/machines")
    assert response.status_code == 401
    assert "Malformed Authorization header" in response.json()["detail"]


def test_deployment_token_reads_and_writes(deployment_client, plant):
    assert deployment_client.get("/api/machines").json()["count"] == 2
    response = deployment_client.post("/api/machines", {"code": "CONV1", "name": "Conveyor 1"}, format="json")
    assert response.status_code == 201, response.content
    assert Machine.objects.filter(code="CONV1").exists()


def test_personal_token_is_stored_hashed_and_works(anon_client, viewer, plant):
    token, plain = ApiToken.issue(viewer, "trend export script")
    assert token.token_hash == hash_token(plain)
    assert plain not in {token.token_hash, token.hint}
    assert ApiToken.objects.filter(token_hash=plain).count() == 0

    anon_client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert anon_client.get("/api/sensors").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_revoked_and_expired_tokens_are_refused(anon_client, viewer):
    revoked, revoked_plain = ApiToken.issue(viewer, "old laptop")
    revoked.revoke()
    _, expired_plain = ApiToken.issue(viewer, "temporary", expires_at=timezone.now() - timezone.timedelta(minutes=1))
    for plain in (revoked_plain, expired_plain):
        anon_client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
        assert anon_client.get("/api/machines").status_code == 401


def test_token_of_a_deactivated_user_is_refused(anon_client, viewer):
    _, plain = ApiToken.issue(viewer, "script")
    viewer.is_active = False
    viewer.save()
    anon_client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert anon_client.get("/api/machines").status_code == 401


def test_session_login_works_for_the_api(viewer, plant):
    assert client_for(viewer).get("/api/machines").status_code == 200


def test_viewer_and_operator_read_but_may_not_change_plant_data(viewer, operator, plant):
    for user in (viewer, operator):
        client = client_for(user)
        assert client.get(f"/api/machines/{plant['pump'].pk}").status_code == 200
        response = client.patch(f"/api/machines/{plant['pump'].pk}", {"name": "Renamed"}, format="json")
        assert response.status_code == 403
        assert response.json()["detail"] == "Only engineers and admins may change this."
    plant["pump"].refresh_from_db()
    assert plant["pump"].name == "Pumping station 1"


def test_engineer_changes_plant_data(engineer, plant):
    client = client_for(engineer)
    response = client.patch(f"/api/sensors/{plant['flow'].pk}", {"unit": "l/s"}, format="json")
    assert response.status_code == 200
    plant["flow"].refresh_from_db()
    assert plant["flow"].unit == "l/s"


def test_user_without_a_role_is_told_so(nobody):
    response = client_for(nobody).get("/api/machines")
    assert response.status_code == 403
    assert "no role" in response.json()["detail"]


def test_role_groups_exist_with_their_permissions():
    names = set(Group.objects.values_list("name", flat=True))
    assert {"viewer", "operator", "engineer", "admin"} <= names
    engineer = Group.objects.get(name="engineer")
    codenames = set(engineer.permissions.values_list("codename", flat=True))
    assert {"change_machine", "add_sensor", "delete_plc"} <= codenames
    viewer_perms = set(Group.objects.get(name="viewer").permissions.values_list("codename", flat=True))
    assert "view_sensor" in viewer_perms
    assert "change_sensor" not in viewer_perms


def test_unknown_api_path_answers_json_404(deployment_client):
    response = deployment_client.get("/api/no-such-thing")
    assert response.status_code == 404
    assert response.json()["detail"] == "No API endpoint at /api/no-such-thing."
