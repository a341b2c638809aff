"""Sign-in in a real browser: `ragbot app` with RAGBOT_AUTH=oidc against a real OpenID Connect
provider (panva/oidc-provider from npm) started on 127.0.0.1. An engineer first opens the app at
127.0.0.1 while sign-in returns to localhost, and the page says so and links the right address
(issue 25 row 10); signed in there, they see the pages their role allows, and Sign out ends back
on the app, not on the provider's page. An admin signs in and sees theirs, uploads a document from
the chat and finds it counted on the Admin page at once and named, without a server path, in the
audit log."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from bench.browser import chrome
from bench.servers import free_port, ragbot_app, server
from tests.app.browser import screenshot, table_rows

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.integration]

NODE_DIR = Path(__file__).parents[1] / "node"


@pytest.fixture
def provider_and_app(ragbot_home, local_model_dir):
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules" / "oidc-provider").exists():
        pytest.fail("oidc-provider is missing: `make setup-dev` installs it with npm into tests/node")
    idp_port, app_port = free_port(), free_port()
    redirect = f"http://localhost:{app_port}/oauth2callback"
    idp = f"http://127.0.0.1:{idp_port}"
    with server(
        [node, str(NODE_DIR / "oidc-provider.mjs"), str(idp_port), redirect], f"{idp}/.well-known/openid-configuration"
    ):
        env = os.environ | {
            "RAGBOT_HOME": str(ragbot_home),
            "RAGBOT_LOCAL_MODEL": str(local_model_dir),
            "RAGBOT_AUTH": "oidc",
            "RAGBOT_OIDC_METADATA_URL": f"{idp}/.well-known/openid-configuration",
            "RAGBOT_OIDC_CLIENT_ID": "ragbot",
            "RAGBOT_OIDC_CLIENT_SECRET": "ragbot-test-secret",
            "RAGBOT_OIDC_REDIRECT_URI": redirect,
            "RAGBOT_OIDC_SCOPES": "openid profile email groups",
            "RAGBOT_OIDC_PROMPT": "login",
            "RAGBOT_ROLE_MAP": json.dumps({"ragbot-admins": "admin", "ragbot-smes": "sme"}),
        }
        with ragbot_app(env, app_port) as url:
            yield url


def sign_in(driver, url: str, login: str):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    # Streamlit redraws elements while it loads; an element found a moment ago may be gone.
    wait = WebDriverWait(driver, 120, ignored_exceptions=(StaleElementReferenceException,))
    driver.get(url)
    button = wait.until(
        lambda d: next((b for b in d.find_elements(By.TAG_NAME, "button") if b.text.strip() == "Sign in"), None)
    )
    button.click()
    wait.until(lambda d: d.find_elements(By.NAME, "login"))
    driver.find_element(By.NAME, "login").send_keys(login)
    driver.find_element(By.NAME, "password").send_keys("any password")
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # The provider asks once for consent to share the profile with ragbot.
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "button[type=submit]") or "localhost" in d.current_url)
    if "oauth2callback" not in driver.current_url and "127.0.0.1" in driver.current_url:
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(lambda d: "Signed in as" in d.find_element(By.TAG_NAME, "body").text)
    return wait


def nav_labels(driver) -> list[str]:
    from selenium.webdriver.common.by import By

    # Each link's text is its icon's name, a line break, then the title.
    return [
        a.text.strip().splitlines()[-1] for a in driver.find_elements(By.CSS_SELECTOR, "[data-testid='stSidebarNav'] a")
    ]


def body(driver) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.TAG_NAME, "body").text


def idle(driver) -> bool:
    from selenium.webdriver.common.by import By

    return bool(driver.find_elements(By.CSS_SELECTOR, "[data-testid='stApp'][data-test-script-state='notRunning']"))


def upload_a_document(driver, wait, tmp_path: Path) -> None:
    """From the chat page's sidebar, as admins add documents: the counts above it follow at once."""
    from selenium.webdriver.common.by import By

    doc = tmp_path / "Pump room.md"
    doc.write_text("# Pump room\n\nThe fire pump delivers 180 l/s at 8 bar.\n")
    wait.until(lambda d: d.find_element(By.XPATH, "//summary[contains(., 'Add documents')]")).click()
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid='stSidebar'] input[type='file']")).send_keys(
        str(doc)
    )
    add = "//button[normalize-space(.)='Add to the index' and not(@disabled)]"  # enabled once the file is sent
    wait.until(lambda d: d.find_element(By.XPATH, add)).click()
    wait.until(lambda d: "1 uploaded: 1 indexed" in body(d) and idle(d))
    sidebar = driver.find_element(By.CSS_SELECTOR, "[data-testid='stSidebar']").text
    assert "1 document · 1 page · 1 passage" in sidebar, sidebar  # in the same run, not at a reload


def corpus_and_audit_name_the_upload(driver, wait, ragbot_home: Path) -> None:
    """The Admin page's Corpus tab counts the uploaded document (no reload) and names what the
    last ingest read without a server path; the audit log names the file as sent."""
    from selenium.webdriver.common.by import By

    driver.find_element(By.XPATH, "//*[@role='tab' and contains(., 'Corpus')]").click()
    wait.until(lambda d: "Documents\n" in body(d) and idle(d))
    corpus = body(driver)
    assert "Documents\n1\n" in corpus and "Passages\n1\n" in corpus, corpus
    assert "UTC of browser uploads: 1 indexed" in corpus and str(ragbot_home) not in corpus, corpus
    screenshot(driver, "admin-corpus.png")
    driver.find_element(By.XPATH, "//*[@role='tab' and contains(., 'Audit log')]").click()
    rows = wait.until(lambda d: table_rows(d))
    upload = next(r for r in rows if r["action"] == "ingest")
    # The uploader's folder is their user id made a safe file name.
    assert (upload["who"], upload["on"]) == ("admin-ana@example.com", "upload: admin-ana_example.com/Pump room.md"), (
        rows
    )
    assert not [c for r in rows for c in r.values() if str(ragbot_home) in c or "/tmp/" in c], rows  # no server path


def wrong_address_explained(driver, url: str) -> str:
    """Opened at 127.0.0.1 while the provider returns to localhost, the sign-in page says so
    before anyone presses Sign in; returns the address its link points to."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, 120, ignored_exceptions=(StaleElementReferenceException,))
    driver.get(url.replace("//localhost:", "//127.0.0.1:"))
    warning = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid='stAlert']"))
    wait.until(idle)
    here = url.replace("//localhost:", "//127.0.0.1:")
    assert f"This page is open at {here}, but sign-in returns to {url}/oauth2callback." in warning.text, warning.text
    screenshot(driver, "signin-wrong-address.png")
    # The one link is the address to open: not this page's own, nor the callback's.
    (link,) = warning.find_elements(By.TAG_NAME, "a")
    return link.get_attribute("href")


def sign_out_ends_on_the_app(driver, wait, url: str) -> None:
    """Sign out goes through the provider's end-session page (with the post-logout address the
    README says to register) and comes back to the app's "Sign in", signed out for good."""
    from selenium.common.exceptions import ElementClickInterceptedException
    from selenium.webdriver.common.by import By

    def signed_out(d) -> bool:
        # The page may still be laying out what its last run drew over the button: retry the click.
        button = next((b for b in d.find_elements(By.TAG_NAME, "button") if b.text.strip() == "Sign out"), None)
        try:
            return button is not None and idle(d) and (button.click() or True)
        except ElementClickInterceptedException:
            return False

    wait.until(signed_out)
    # The provider asks whether to sign out of it too.
    wait.until(lambda d: d.find_element(By.XPATH, "//button[normalize-space(.)='Yes, sign me out']")).click()
    wait.until(lambda d: d.current_url.startswith(url) and "Sign in" in body(d) and idle(d))
    assert "post_logout_redirect_uri" not in body(driver) and "Signed in as" not in body(driver)
    driver.get(url)  # the sign-in is gone, not only this page's view of it
    wait.until(lambda d: "Sign in" in body(d) and idle(d))
    assert "Signed in as" not in body(driver)


def test_an_engineer_and_an_admin_sign_in_and_see_what_their_role_allows(provider_and_app, ragbot_home, tmp_path):
    from selenium.webdriver.common.by import By

    engineer = chrome()
    try:
        assert wrong_address_explained(engineer, provider_and_app).rstrip("/") == provider_and_app
        wait = sign_in(engineer, provider_and_app, "eve")
        sidebar = engineer.find_element(By.CSS_SELECTOR, "[data-testid='stSidebar']").text
        assert "Signed in as eve · engineer" in sidebar
        assert "Admin" not in nav_labels(engineer) and "Review" not in nav_labels(engineer)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "textarea[data-testid='stChatInputTextArea']"))
        screenshot(engineer, "signin-engineer.png")
        # Typing the admin page's address does not open it for an engineer.
        engineer.get(provider_and_app + "/admin")
        wait.until(lambda d: "Ask the documents" in d.find_element(By.TAG_NAME, "body").text)
        assert "Recent rated answers" not in engineer.find_element(By.TAG_NAME, "body").text
        # Streamlit says so in a dialog over the chat ("Page not found"), closed as a user would.
        wait.until(
            lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid='stDialog'] button[aria-label='Close']")
        ).click()
        wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "[data-testid='stDialog']"))
        sign_out_ends_on_the_app(engineer, wait, provider_and_app)
    finally:
        engineer.quit()

    admin = chrome()
    try:
        wait = sign_in(admin, provider_and_app, "admin-ana")
        assert "Signed in as admin-ana · admin" in admin.find_element(By.CSS_SELECTOR, "[data-testid='stSidebar']").text
        # The page list can draw after the caption on a loaded machine (an engineer has one page, no list).
        labels = wait.until(nav_labels)
        assert "Admin" in labels
        upload_a_document(admin, wait, tmp_path)
        next(
            a
            for a in admin.find_elements(By.CSS_SELECTOR, "[data-testid='stSidebarNav'] a")
            if a.text.endswith("Admin")
        ).click()
        wait.until(lambda d: "Recent rated answers" in d.find_element(By.TAG_NAME, "body").text)
        screenshot(admin, "signin-admin.png")
        corpus_and_audit_name_the_upload(admin, wait, ragbot_home)
    finally:
        admin.quit()
