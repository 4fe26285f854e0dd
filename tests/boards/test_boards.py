"""Boards: stored per user, shared read-only, widgets checked against the plant; the list page's
forms."""

from __future__ import annotations

import pytest

from apps.boards.models import Board
from tests.conftest import client_for, make_user

pytestmark = pytest.mark.django_db


def kpi(sensor_id: int, **extra) -> dict:
    return {"id": "a", "type": "kpi", "x": 0, "y": 0, "w": 3, "h": 2, "sensor": sensor_id, **extra}


def test_a_viewer_keeps_boards_of_their_own(plant, viewer):
    api = client_for(viewer)
    created = api.post("/api/boards", {"name": "  Pumps  ", "widgets": [kpi(plant["pressure"].pk)]}, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["name"], body["owner"], body["editable"], body["shared"]) == ("Pumps", "alice", True, False)
    assert body["widgets"] == [kpi(plant["pressure"].pk, title="", min=None, max=None)]
    moved = api.patch(f"/api/boards/{body['id']}", {"widgets": [kpi(plant["pressure"].pk, x=9)]}, format="json")
    assert moved.status_code == 200 and moved.json()["widgets"][0]["x"] == 9
    assert api.post("/api/boards", {"name": "Pumps"}, format="json").json() == {
        "name": ["You already have a board with this name."]
    }


@pytest.mark.parametrize(
    ("widgets", "reason"),
    [
        ("not a list", "widgets must be a list"),
        ([{"id": "a", "type": "radar", "x": 0, "y": 0, "w": 2, "h": 2}], "type must be one of"),
        (
            [{"id": "a", "type": "kpi", "x": 10, "y": 0, "w": 3, "h": 2, "sensor": 1}],
            "x must be a whole number from 0 to 9",
        ),
        ([{"id": "a", "type": "kpi", "x": 0, "y": 0, "w": 3, "h": 2, "sensor": 999999}], "no such sensor: 999999"),
        ([{"id": "a", "type": "alarms", "x": 0, "y": 0, "w": 3, "h": 2, "machines": [999999]}], "no such machine"),
        ([{"id": "a", "type": "linechart", "x": 0, "y": 0, "w": 3, "h": 2, "sensors": []}], "list of 1 to 8 ids"),
        ([{"id": "a", "type": "status", "x": 0, "y": 0, "w": 3, "h": 2}], "either a machine or a (state) sensor"),
        ([kpi(1), kpi(1)], "id must be a unique text"),
    ],
)
def test_bad_widgets_are_refused_with_the_reason(plant, viewer, widgets, reason):
    response = client_for(viewer).post("/api/boards", {"name": "B", "widgets": widgets}, format="json")
    assert response.status_code == 400
    assert reason in response.json()["widgets"][0]
    assert not Board.objects.exists()


def test_shared_boards_are_read_only_for_others_and_private_ones_invisible(plant, viewer, operator):
    shared = Board.objects.create(owner=viewer, name="Shared", shared=True)
    private = Board.objects.create(owner=viewer, name="Private")
    bob = client_for(operator)
    assert [b["name"] for b in bob.get("/api/boards").json()["results"]] == ["Shared"]
    assert bob.get(f"/api/boards/{shared.pk}").json()["editable"] is False
    refused = bob.patch(f"/api/boards/{shared.pk}", {"name": "Mine now"}, format="json")
    assert refused.status_code == 403 and "Only its owner" in refused.json()["detail"]
    assert bob.delete(f"/api/boards/{shared.pk}").status_code == 403
    assert bob.get(f"/api/boards/{private.pk}").status_code == 404
    assert client_for(make_user("norole", None)).get("/api/boards").status_code == 403


def test_the_list_page_creates_renames_shares_and_deletes(client, plant, viewer, operator):
    client.force_login(viewer)
    response = client.post("/boards/", {"name": "Line 1"})
    board = Board.objects.get(owner=viewer)
    assert response.url == f"/boards/{board.pk}/?edit=1"
    assert "You already have a board" in client.post("/boards/", {"name": "Line 1"}).content.decode()
    client.post(f"/boards/{board.pk}/rename", {"name": "Line one"})
    client.post(f"/boards/{board.pk}/share", {"shared": "1"})
    board.refresh_from_db()
    assert (board.name, board.shared) == ("Line one", True)
    page = client.get(f"/boards/{board.pk}/").content.decode()
    assert 'id="edit-toggle"' in page

    client.force_login(operator)  # someone else: sees it, cannot change it
    page = client.get(f"/boards/{board.pk}/").content.decode()
    assert "read-only" in page and 'id="edit-toggle"' not in page
    assert client.post(f"/boards/{board.pk}/delete").status_code == 403
    client.force_login(viewer)
    client.post(f"/boards/{board.pk}/share", {"shared": "0"})
    client.force_login(operator)
    assert client.get(f"/boards/{board.pk}/").status_code == 404
    client.force_login(viewer)
    client.post(f"/boards/{board.pk}/delete")
    assert not Board.objects.exists()
