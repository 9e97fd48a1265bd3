#!/usr/bin/env python3
"""A real browser for the portal tests: headless Chromium driven through Selenium's
WebDriver client and Debian's chromedriver, one JSON command a line on stdin, one JSON
answer a line on stdout. The Rust test decides what to do; this only does it.

usage: browser.py --spki-hash HASH [--lang sv]
  HASH: base64 SHA-256 of the portal certificate's public key: Chromium then trusts
        exactly that certificate (--ignore-certificate-errors-spki-list), nothing more.
  --lang: the browser's Accept-Language (intl.accept_languages).

commands (answers: {"ok": true, ...} or {"ok": false, "error": "..."}):
  {"op": "get", "url": U}                    open U; answers url, title, status of nothing
  {"op": "page"}                             url, title, the page's HTML
  {"op": "text", "id": I}                    the element's visible text ("" if absent)
  {"op": "exists", "id": I}                  whether the element is on the page
  {"op": "fill", "id": I, "value": V}        clears the field and types V
  {"op": "click", "id": I}                   clicks; waits for the next page to load
  {"op": "cookies"}                          the browser's cookies (name, value, flags)
  {"op": "set_cookie", "name": N, "value": V} sets a cookie on the current site
  {"op": "delete_cookies"}
  {"op": "screenshot", "path": P}            a PNG of the page
  {"op": "quit"}
needs: selenium (PyPI), chromium and chromium-driver (Debian).
"""
import argparse
import json
import os
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import (NoSuchElementException, TimeoutException,
                                        WebDriverException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait


def start(args):
    opts = webdriver.ChromeOptions()
    opts.binary_location = os.environ.get("MFAGATE_CHROMIUM", "/usr/bin/chromium")
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              "--no-first-run", "--disable-extensions", "--window-size=1000,1100",
              "--disable-background-networking", "--disable-component-update",
              "--disable-sync", "--disable-features=Translate,OptimizationHints",
              "--ignore-certificate-errors-spki-list=" + args.spki_hash):
        opts.add_argument(a)
    if args.lang:
        opts.add_argument("--lang=" + args.lang)
        opts.add_experimental_option("prefs", {"intl.accept_languages": args.lang})
    service = Service(executable_path=os.environ.get("MFAGATE_CHROMEDRIVER",
                                                     "/usr/bin/chromedriver"))
    d = webdriver.Chrome(options=opts, service=service)
    d.set_page_load_timeout(20)
    return d


def settle(d):
    """Waits until the current document has finished loading."""
    try:
        WebDriverWait(d, 15).until(
            lambda d: d.execute_script("return document.readyState") == "complete")
    except (TimeoutException, WebDriverException):
        pass


def element(d, ident):
    return d.find_element(By.ID, ident)


def replaced(old):
    """Whether the document whose <html> element is `old` has been replaced. Selenium's
    staleness_of only counts StaleElementReferenceException; while a navigation is under way
    Chromium may instead answer "Node with given id does not belong to the document", which
    means the same."""
    try:
        old.is_enabled()
        return False
    except WebDriverException:
        return True


def wait_replaced(old, timeout=15):
    end = time.monotonic() + timeout
    while time.monotonic() < end and not replaced(old):
        time.sleep(0.05)


def run(d, cmd):
    op = cmd.get("op")
    if op == "get":
        d.get(cmd["url"])
        return {"url": d.current_url, "title": d.title}
    if op == "page":
        return {"url": d.current_url, "title": d.title, "html": d.page_source}
    if op == "text":
        try:
            return {"text": element(d, cmd["id"]).text}
        except NoSuchElementException:
            return {"text": ""}
    if op == "exists":
        return {"exists": len(d.find_elements(By.ID, cmd["id"])) > 0}
    if op == "fill":
        settle(d)
        e = element(d, cmd["id"])
        e.clear()
        e.send_keys(cmd["value"])
        return {}
    if op == "click":
        settle(d)
        old = d.find_element(By.TAG_NAME, "html")
        for attempt in range(3):
            try:
                element(d, cmd["id"]).click()
                break
            except WebDriverException:
                # If the page is already being replaced the click went through: clicking
                # again would post the form twice. Otherwise find the element anew.
                if replaced(old):
                    break
                if attempt == 2:
                    raise
                time.sleep(0.2)
                settle(d)
                old = d.find_element(By.TAG_NAME, "html")
        # A form post replaces the document; wait until it has, and it has loaded.
        wait_replaced(old)
        settle(d)
        return {"url": d.current_url, "title": d.title}
    if op == "cookies":
        return {"cookies": d.get_cookies()}
    if op == "set_cookie":
        d.add_cookie({"name": cmd["name"], "value": cmd["value"], "path": "/",
                      "secure": True, "httpOnly": True, "sameSite": "Strict"})
        return {}
    if op == "delete_cookies":
        d.delete_all_cookies()
        return {}
    if op == "screenshot":
        d.save_screenshot(cmd["path"])
        return {"path": cmd["path"]}
    raise ValueError("unknown op %r" % op)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--spki-hash", required=True)
    p.add_argument("--lang")
    args = p.parse_args()
    d = start(args)
    print(json.dumps({"ok": True, "ready": True}), flush=True)
    try:
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            cmd = json.loads(line)
            if cmd.get("op") == "quit":
                break
            try:
                out = run(d, cmd)
                out["ok"] = True
            except Exception as e:  # noqa: BLE001 - every failure goes back to the test
                out = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
            print(json.dumps(out), flush=True)
    finally:
        d.quit()


if __name__ == "__main__":
    main()
