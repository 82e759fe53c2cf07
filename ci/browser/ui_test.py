#!/usr/bin/env python3
"""Drives llama-proxy's web UI (/ui) in headless Chromium, as a person would, against a running proxy.

Steps (each wait is bounded; any console error or warning fails the run):
  1. open /ui: the page asks for the API key (the proxy has apiKeys) and calls nothing before it gets one;
     type it and press Enter;
  2. reach the model's Load button with the Tab key alone, press Enter: the model loads; then Unload (click);
  3. follow the model's logs;
  4. playground: a streaming chat for the unloaded model; while the model loads, heartbeats arrive and the live
     timeline shows them (in flight); then the answer;
  5. the timeline's heartbeat marks equal GET /api/activity/{id}/timeline's heartbeat events, each at its time, and
     the heartbeats the playground received;
  6. the activity table lists the request with that heartbeat count; its request view shows the timeline and the
     capture, and exports a scenario file; a 1280x800 screenshot of it is saved;
  7. unload the model from the models view.
"""

import argparse
import json
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.common.action_chains import ActionChains

STARTED = time.monotonic()


class Failure(Exception):
    pass


def log(message):
    print(f"[{time.monotonic() - STARTED:6.2f} s] {message}", flush=True)


def wait_for(what, probe, timeout):
    """Polls probe() every 100 ms until it returns something truthy; fails after timeout seconds."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = probe()
            if value:
                return value
        except (StaleElementReferenceException, WebDriverException) as error:
            last_error = error
        if time.monotonic() > deadline:
            detail = f" (last error: {str(last_error).splitlines()[0]})" if last_error else ""
            raise Failure(f"timed out after {timeout} s waiting for {what}{detail}")
        time.sleep(0.1)


class Console:
    """Chromium's browser log, read after every step; errors and warnings fail the run."""

    def __init__(self, driver):
        self.driver = driver
        self.problems = []

    def check(self, step):
        for entry in self.driver.get_log("browser"):
            level = entry.get("level")
            text = f"{level} {entry.get('source')}: {entry.get('message')}"
            if level in ("SEVERE", "WARNING"):
                self.problems.append(f"{step}: {text}")
                log(f"console {text}")
        if self.problems:
            raise Failure("console errors:\n  " + "\n  ".join(self.problems))


def api(base, key, path):
    request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read().decode())


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--hide-scrollbars", "--no-first-run", "--disable-background-networking",
                     "--disable-extensions", "--window-size=1280,800"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(20)
    driver.set_script_timeout(10)
    # The viewport itself 1280x800, whatever the window's decorations take.
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False})
    return driver


def model_state(driver, model):
    for row in driver.find_elements(By.CSS_SELECTOR, "#models-table tbody tr"):
        if row.get_attribute("data-model") == model:
            return row.find_element(By.CSS_SELECTOR, "[data-state]").get_attribute("data-state")
    return None


def model_button(driver, model, action):
    for button in driver.find_elements(By.CSS_SELECTOR, f"#models-table button[data-action='{action}']"):
        if button.get_attribute("data-model") == model:
            return button
    return None


def heartbeat_marks(driver, box):
    return [float(mark.get_attribute("data-t"))
            for mark in driver.find_elements(By.CSS_SELECTOR, f"#{box} svg.timeline .mark.heartbeat")]


def run(args, driver, console):
    base = args.url

    # 1. The page asks for the key before anything else.
    driver.get(base + "/ui")
    wait_for("the page to say an API key is needed",
             lambda: driver.find_element(By.ID, "conn").text == "API key needed", 10)
    active = driver.switch_to.active_element
    if active.get_attribute("id") != "api-key":
        raise Failure(f"the key field should have the focus, not {active.get_attribute('outerHTML')[:80]}")
    active.send_keys(args.key + Keys.ENTER)
    wait_for(f"model {args.model} listed as stopped", lambda: model_state(driver, args.model) == "stopped", 10)
    console.check("open /ui and enter the key")
    log("ok: the page asked for the key; the model list came with it")

    # 2. Keyboard only: Tab from the key field to the Load button, Enter.
    load = model_button(driver, args.model, "load")
    for presses in range(1, 41):
        ActionChains(driver).send_keys(Keys.TAB).perform()
        if driver.switch_to.active_element == load:
            break
    else:
        raise Failure("the Load button was not reached with 40 presses of Tab")
    outline = driver.execute_script(
        "const s = getComputedStyle(document.activeElement); return s.outlineStyle + ' ' + s.outlineWidth;")
    if outline.startswith("none") or outline.endswith(" 0px"):
        raise Failure(f"the focused Load button shows no focus outline ({outline})")
    ActionChains(driver).send_keys(Keys.ENTER).perform()
    wait_for("the model to be loading or loaded",
             lambda: model_state(driver, args.model) in ("loading", "loaded"), 10)
    wait_for("the model to be loaded", lambda: model_state(driver, args.model) == "loaded", 40)
    log(f"ok: Load reached with {presses} Tab presses (focus outline {outline}), model loaded")
    wait_for("the Unload button", lambda: model_button(driver, args.model, "unload").is_enabled(), 5)
    model_button(driver, args.model, "unload").click()
    wait_for("the model to be stopped", lambda: model_state(driver, args.model) == "stopped", 20)
    console.check("load and unload")
    log("ok: unloaded")

    # 3. The model's logs.
    driver.get(base + "/ui#/logs/" + args.model)
    lines = wait_for(f"log lines of {args.model}",
                     lambda: driver.find_elements(By.CSS_SELECTOR, "#logs div"), 10)
    first = lines[0].text
    if not first.startswith(f"[{args.model}]"):
        raise Failure(f"a line in the model's log is not the model's: {first!r}")
    log(f"ok: {len(lines)} log lines of {args.model}, e.g. {first[:80]!r}")
    console.check("logs")

    # 4. Playground: a streaming request that waits for the load, kept alive by heartbeats.
    driver.get(base + "/ui#/playground")
    wait_for("the model in the playground's list",
             lambda: args.model in [o.get_attribute("value") for o in
                                    driver.find_elements(By.CSS_SELECTOR, "#play-model option")], 10)
    driver.execute_script("const s = document.getElementById('play-model'); s.value = arguments[0];"
                          "s.dispatchEvent(new Event('change'));", args.model)
    if not driver.find_element(By.ID, "play-stream").is_selected():
        driver.find_element(By.ID, "play-stream").click()
    driver.find_element(By.ID, "play-send").click()
    wait_for("two heartbeats in the playground while the model loads",
             lambda: int(driver.find_element(By.ID, "play-hb").get_attribute("data-count") or 0) >= 2
             and driver.find_element(By.ID, "play-status").get_attribute("data-state") == "waiting", 15)
    wait_for("heartbeats on the live timeline while the request is in flight",
             lambda: driver.find_element(By.ID, "play-timeline").get_attribute("data-in-flight") == "true"
             and len(heartbeat_marks(driver, "play-timeline")) >= 2, 10)
    live_marks = len(heartbeat_marks(driver, "play-timeline"))
    log(f"ok: heartbeats arrive while the model loads; the live timeline shows {live_marks} so far")
    wait_for("the answer to end", lambda: driver.find_element(By.ID, "play-status").get_attribute(
        "data-state") in ("done", "error", "stopped"), 40)
    state = driver.find_element(By.ID, "play-status").get_attribute("data-state")
    if state != "done":
        raise Failure(f"the playground's request ended as {state}: "
                      f"{driver.find_element(By.ID, 'play-events').text[-400:]}")
    wait_for("the timeline to show the request finished",
             lambda: driver.find_element(By.ID, "play-timeline").get_attribute("data-in-flight") == "false", 10)
    received = int(driver.find_element(By.ID, "play-hb").get_attribute("data-count"))
    request_id = driver.find_element(By.ID, "play-open").get_attribute("href").split("#/request/")[1]
    console.check("playground")

    # 5. Every heartbeat at its time: marks vs the API vs what the client received.
    timeline = api(base, args.key, f"/api/activity/{request_id}/timeline")
    expected = sorted(e["t"] for e in timeline["events"] if e["lane"] == "heartbeat")
    drawn = sorted(heartbeat_marks(driver, "play-timeline"))
    log(f"request {request_id}: {received} heartbeats received, {len(expected)} in the API's timeline, "
        f"{len(drawn)} drawn")
    if len(expected) < 3:
        raise Failure(f"expected at least 3 heartbeats during the 6 s load, the API shows {len(expected)}")
    if drawn != expected:
        raise Failure(f"the drawn heartbeats {drawn} differ from the API's {expected}")
    if received != len(expected):
        raise Failure(f"the playground received {received} heartbeats, the timeline has {len(expected)}")
    log(f"ok: every heartbeat drawn at its time (ms): {[round(t) for t in drawn]}")

    # 6. Activity row, request view (timeline + capture + export), screenshot.
    driver.get(base + "/ui#/activity")
    row = wait_for("the request in the activity table", lambda: [
        r for r in driver.find_elements(By.CSS_SELECTOR, "#activity-table tbody tr")
        if r.get_attribute("data-request") == request_id], 10)[0]
    cell = row.find_element(By.CSS_SELECTOR, "td[data-heartbeats]").get_attribute("data-heartbeats")
    if cell != str(len(expected)):
        raise Failure(f"the activity table shows {cell} heartbeats, the timeline {len(expected)}")
    row.find_element(By.CSS_SELECTOR, "a[data-request]").click()
    wait_for("the request view's timeline", lambda: driver.find_element(By.ID, "request-timeline")
             .get_attribute("data-heartbeats") == str(len(expected)), 10)
    if sorted(heartbeat_marks(driver, "request-timeline")) != expected:
        raise Failure("the request view's heartbeats differ from the API's")
    wait_for("the capture", lambda: driver.find_elements(By.CSS_SELECTOR, "#capture section"), 10)
    capture_text = driver.find_element(By.ID, "capture").text
    if args.key in capture_text or args.key in driver.page_source:
        raise Failure("the API key shows in the capture (it must be redacted)")
    driver.find_element(By.ID, "capture-export").click()
    exported = wait_for("the scenario export", lambda: driver.find_element(By.ID, "capture-msg")
                        .get_attribute("data-bytes"), 10)
    log(f"ok: activity row, request view with {len(expected)} heartbeats, capture, scenario exported "
        f"({exported} bytes)")
    driver.execute_script("window.scrollTo(0, 0); document.activeElement.blur();")
    time.sleep(0.2)
    if args.screenshot:
        driver.save_screenshot(args.screenshot)
        log(f"ok: screenshot {args.screenshot}")
    console.check("activity and request view")

    # 7. Unload from the models view.
    driver.get(base + "/ui#/models")
    wait_for("the model loaded by the request", lambda: model_state(driver, args.model) == "loaded", 10)
    model_button(driver, args.model, "unload").click()
    wait_for("the model to be stopped", lambda: model_state(driver, args.model) == "stopped", 20)
    console.check("final unload")
    log("ok: unloaded")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--screenshot")
    parser.add_argument("--work", help="where to leave a screenshot of a failure")
    args = parser.parse_args()
    driver = browser()
    console = Console(driver)
    try:
        run(args, driver, console)
    except Failure as failure:
        log(f"FAILED: {failure}")
        if args.work:
            driver.save_screenshot(f"{args.work}/failure.png")
        try:
            for entry in driver.get_log("browser"):
                log(f"console {entry.get('level')}: {entry.get('message')}")
        except WebDriverException:
            pass
        return 1
    finally:
        driver.quit()
    log("PASSED: 7 steps, no console errors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
