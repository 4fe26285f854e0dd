"""Shared fixtures: named users per role (as in healthchecks' tests), API clients, a small plant,
and a real headless Chromium (Debian's, driven by playwright) for the end-to-end page tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from apps.accounts import roles
from apps.plant.models import PLC, Machine, Sensor
from tests.brokers import Broker
from tests.helpers import IngestProcess, WebProcess


@pytest.fixture(scope="session")
def broker(tmp_path_factory) -> Broker:
    """A private Mosquitto with production's queue limits (tests/brokers.py)."""
    instance = Broker(tmp_path_factory.mktemp("broker"))
    instance.start()
    yield instance
    instance.stop()


@pytest.fixture(scope="session", autouse=True)
def channel_layer_of_the_test_database(django_db_setup, django_db_blocker):
    """The channel layer named after the test database, as the servers the tests start name it
    (scadapro/settings.py: channel_layers), and apart from any other deployment on this Redis."""
    from channels.layers import channel_layers

    from scadapro.settings import channel_layers as named

    with django_db_blocker.unblock():
        name = settings.DATABASES["default"]["NAME"]
    settings.CHANNEL_LAYERS = named(name)
    channel_layers.backends = {}


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="module")
def chromium():
    """One headless Chromium per test module. Not per session: playwright's sync API keeps an event
    loop running in this thread, and later tests (async_to_sync) must not find one there."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("Chromium is not installed (apt-get install chromium; `make setup` does it as root)")
    from playwright.sync_api import sync_playwright

    # playwright's sync API runs an event loop in this thread; the test's own ORM calls are
    # synchronous and safe, but Django refuses them unless told so. Only for this module, and
    # never for the servers the tests start (tests/helpers.py: process_env).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            yield browser
            browser.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def page(chromium, settings):
    """A fresh browser context (no cookies) at a tablet's 1280x800; browser console errors fail the test.
    The live server serves static files from the finders, under their plain (unhashed) names."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, timezone_id="UTC")
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


def screenshot(page, name: str) -> None:
    """Saved as a test artifact in test-artifacts/ (kept out of git)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_in(page, server, user) -> None:
    """Through the login page of `server` (pytest-django's live_server or the Daphne `web`)."""
    page.goto(f"{server.url}/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", f"{user.username}-password-123")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{server.url}/")


@pytest.fixture
def web(transactional_db, tmp_path):
    """Daphne on the test database: pages and /ws/realtime as production serves them."""
    process = WebProcess(tmp_path).start()
    yield process
    process.stop()


@pytest.fixture
def ingest(broker, tmp_path):
    """Starts `manage.py ingest` workers on the private broker; stops them and forgets their sessions."""
    processes: list[IngestProcess] = []

    def start() -> IngestProcess:
        process = IngestProcess(broker.url, tmp_path).start()
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.process.poll() is None:
            process.stop()
        process.forget(broker.port)


def make_user(username: str, role: str | None) -> User:
    user = User.objects.create_user(username=username, password=f"{username}-password-123")
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def viewer(db) -> User:
    return make_user("alice", roles.VIEWER)


@pytest.fixture
def operator(db) -> User:
    return make_user("bob", roles.OPERATOR)


@pytest.fixture
def engineer(db) -> User:
    return make_user("erin", roles.ENGINEER)


@pytest.fixture
def nobody(db) -> User:
    """An account no admin has given a role yet."""
    return make_user("norole", None)


@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()


@pytest.fixture
def deployment_client(db) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {settings.SCADAPRO_API_TOKEN}")
    return client


def client_for(user: User) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def plant(db) -> dict:
    """Two machines, one PLC, three sensors."""
    pump = Machine.objects.create(code="PS1", name="Pumping station 1", area="Intake")
    boiler = Machine.objects.create(code="BLR1", name="Boiler 1", area="Utilities", status="maintenance")
    plc = PLC.objects.create(machine=pump, name="PLC-PS1", protocol="modbus-tcp", address="10.0.1.10:502")
    sensors = {
        "pressure": Sensor.objects.create(
            machine=pump, plc=plc, code="P1_PRESS", name="Pump 1 pressure", type="pressure", unit="bar",
            range_min=0, range_max=16, decimals=2,
        ),
        "flow": Sensor.objects.create(machine=pump, code="FLOW", name="Outlet flow", type="flow", unit="m³/h"),
        "steam": Sensor.objects.create(
            machine=boiler, code="STEAM_PRESS", name="Steam pressure", type="pressure", unit="bar"
        ),
    }  # fmt: skip
    return {"pump": pump, "boiler": boiler, "plc": plc, **sensors}
