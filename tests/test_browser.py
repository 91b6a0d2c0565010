"""Widgets used as a person uses them: JupyterLab in headless Chromium, driven by Playwright.

The loss-curve explorer trains live, stops when asked, and chapter 1's secant slider redraws
its figure. Needs Debian's chromium (`make system-deps` installs it as root); skips, saying so,
where it cannot be had. Screenshots land in out/ (explorer.png is the README's picture).
"""
import json
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from autograder.release import tool_env
from tests.helpers import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "out"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# as root, in a container, with no network: the flags this machine needs
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
CHAPTER_1 = "01_numerical_gradient"
STDERR = ".jp-Notebook .jp-RenderedText[data-mime-type='application/vnd.jupyter.stderr']"  # also where errors show


def chapter_1_as_finished(folder):
    """Chapter 1's release (notebook and course/ slice) with the answers filled in from the source,
    ending at the secant slider: the cells after it time a numerical gradient for many seconds."""
    shutil.copytree(ROOT / "release" / CHAPTER_1, folder)
    path = folder / f"{CHAPTER_1}.ipynb"
    source = nbformat.read(ROOT / "source_notebooks" / CHAPTER_1 / f"{CHAPTER_1}.ipynb", as_version=4)
    answers = {cell.metadata.nbgrader["grade_id"]: cell.source for cell in source.cells
               if cell.metadata.get("nbgrader", {}).get("solution")}
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        cell.source = answers.get(cell.metadata.get("nbgrader", {}).get("grade_id"), cell.source)
        if cell.cell_type == "code":
            cell.execution_count, cell.outputs = None, []  # so that a number in a prompt means "ran here"
    slider = next(i for i, cell in enumerate(notebook.cells) if '"log10 h"' in cell.source)
    notebook.cells = notebook.cells[:slider + 1]
    nbformat.write(notebook, path)
    return path.relative_to(folder.parent)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed: `make system-deps` installs Debian's chromium (needs root and apt-get)")
    work = tmp_path_factory.mktemp("lab")
    notebook = new_notebook(cells=[
        new_code_cell("from course.data import load_mnist\nfrom course.widgets import LossExplorer\n"
                      "data = load_mnist()"),
        new_code_cell("LossExplorer(data, num_train=5000, num_val=500)"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(notebook, work / "explorer.ipynb")
    settings = work / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    # no "Jupyter news" pop-up over the page, no update check
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    port, token = free_port(), secrets.token_hex(16)
    env = tool_env(JUPYTERLAB_SETTINGS_DIR=str(work / "settings"), JUPYTERLAB_WORKSPACES_DIR=str(work / "workspaces"))
    log = open(work / "lab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--allow-root", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--ServerApp.token={token}", f"--ServerApp.root_dir={work}"],
        cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.terminate()
                pytest.fail(f"JupyterLab did not start:\n{(work / 'lab.log').read_text()[-3000:]}")
            time.sleep(0.5)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        # each notebook in a workspace of its own, reset on opening: no tab restored from another page
        yield {"browser": browser, "url": f"{base}/lab/workspaces/{{name}}/tree/{{path}}?token={token}&reset",
               "work": work, "log": work / "lab.log"}
        browser.close()
    server.terminate()
    server.wait(20)
    log.close()


def run_all(lab, path, name):
    """Open a notebook, run every cell once its kernel is ready, and wait until all have run."""
    from playwright.sync_api import TimeoutError as Timeout

    page = lab["browser"].new_page(viewport={"width": 1300, "height": 1500})
    page.goto(lab["url"].format(name=name, path=path))
    page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=90_000)
    # Run All pressed before the notebook's session has a connected kernel clears every prompt and runs
    # nothing (JupyterLab's CodeCell.execute returns when session.kernel is missing). The status bar shows
    # the session's real kernel state ("Python 3 (ipykernel) | Idle"); the toolbar's execution indicator
    # starts out with data-status="idle" before any kernel exists, which is how an earlier version of this
    # test pressed Run All too soon
    kernel_state = page.locator("#jp-main-statusbar .jp-StatusBar-TextItem[title^='Change kernel']")
    try:
        kernel_state.filter(has_text="| Idle").wait_for(timeout=120_000)
    except Timeout:
        page.screenshot(path=str(OUT / f"{name}-no-kernel.png"))
        pytest.fail(f"the kernel of {path} never became idle ({kernel_state.all_inner_texts()}); see "
                    f"out/{name}-no-kernel.png and\n{lab['log'].read_text()[-3000:]}")
    # then make the notebook current by clicking into it, and press Run All only when the menu offers it
    page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt").first.click()
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator("li.lm-Menu-item[data-command='runmenu:run-all']:not(.lm-mod-disabled)").click(timeout=10_000)
    # every code cell shows its execution count once it has run; an error stops the cells after it
    ran = ("() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]"
           "  .every(p => /\\[\\d+\\]/.test(p.textContent))"
           f" || document.querySelector(\"{STDERR}\")")
    try:
        page.wait_for_function(ran, timeout=120_000)
    except Timeout:
        page.screenshot(path=str(OUT / f"{name}-not-run.png"))
        prompts = page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt").all_inner_texts()
        pytest.fail(f"not every cell of {path} ran within two minutes (prompts {prompts}); see out/{name}-not-run.png")
    errors = page.locator(STDERR)
    assert errors.count() == 0, f"{path} printed to stderr: {errors.all_inner_texts()}"
    return page


# Runs in the page: records when a new picture of the curves arrives and what the status said then,
# every change of the status, and the moment Stop is pressed, all on the page's own clock
RECORDER = """([image, status, stop]) => {
    const log = window.explorerLog = {pictures: [], status: [], stopPressed: null};
    new MutationObserver(() => log.pictures.push({t: performance.now(), status: status.textContent}))
        .observe(image, {attributes: true, attributeFilter: ["src"]});
    new MutationObserver(() => log.status.push({t: performance.now(), text: status.textContent}))
        .observe(status, {subtree: true, childList: true, characterData: true});
    stop.addEventListener("mousedown", () => { log.stopPressed = performance.now(); }, {capture: true});
}"""


def type_into_readout(page, label, text):
    slider = page.locator(".widget-hslider", has=page.locator(".widget-label", has_text=label))
    readout = slider.locator(".widget-readout")
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(text)
    page.keyboard.press("Enter")
    page.wait_for_function("([el, text]) => el.textContent.trim().startsWith(text)",
                           arg=[readout.element_handle(), text], timeout=10_000)


def test_explorer_trains_live_and_stops_when_asked(lab):
    OUT.mkdir(exist_ok=True)
    page = run_all(lab, "explorer.ipynb", "explorer")
    train = page.locator(".widget-button", has_text="Train")
    train.wait_for(timeout=60_000)
    stop = page.locator(".widget-button", has_text="Stop")
    image = page.locator("img.widget-image")
    status = page.locator(".widget-html", has_text="Choose settings").element_handle()  # the same element later
    empty_plot = image.get_attribute("src")

    type_into_readout(page, "learning rate", "0.05")
    train.click()
    page.get_by_text("lr=0.05", exact=False).first.wait_for(timeout=60_000)
    page.get_by_text("done: best validation accuracy", exact=False).first.wait_for(timeout=90_000)
    assert "Best so far" in " ".join(page.locator(".widget-html").all_inner_texts())
    page.wait_for_function("([el, old]) => el.getAttribute('src') !== old",  # drawn just after the message
                           arg=[image.element_handle(), empty_plot], timeout=10_000)

    # a run long enough to watch: 10 epochs of a wide net (500 steps, many seconds on this machine)
    hidden = page.locator(".widget-text", has=page.locator(".widget-label", has_text="hidden sizes"))
    hidden.locator("input").fill("1024, 512")
    type_into_readout(page, "epochs", "10")
    page.evaluate(RECORDER, [image.element_handle(), status, stop.element_handle()])
    train.click()
    # two new pictures while the run trains and a third of it done (a picture worth a screenshot),
    # or the run's end, whichever comes first
    page.wait_for_function("""() => { const log = window.explorerLog;
        const done = parseFloat(document.querySelector('.widget-hprogress .progress-bar').style.width);
        return (log.pictures.filter(p => p.status.startsWith('Training run 2')).length >= 2 && done >= 30)
            || log.status.some(s => !s.text.startsWith('Training run 2')); }""", timeout=90_000)
    log = page.evaluate("() => window.explorerLog")
    assert sum(p["status"].startswith("Training run 2") for p in log["pictures"]) >= 2, log
    stop.click()
    page.wait_for_function("() => window.explorerLog.status.some(s => s.text.includes('stopped by you'))",
                           timeout=10_000)
    log = page.evaluate("() => window.explorerLog")
    stopped = next(s["t"] for s in log["status"] if "stopped by you" in s["text"])
    assert stopped - log["stopPressed"] < 1000, f"the run ended {stopped - log['stopPressed']:.0f} ms after Stop"
    message = next(s["text"] for s in log["status"] if "stopped by you" in s["text"])
    steps = int(message.split("after ")[1].split(" steps")[0])
    assert 0 < steps < 500, message  # stopped mid-run
    # the finished run's last picture, then the panel as the README shows it
    page.wait_for_function("t => window.explorerLog.pictures.some(p => p.t > t)", arg=stopped, timeout=10_000)
    page.locator(".widget-button:not([disabled])", has_text="Train").wait_for(timeout=10_000)
    page.locator(".widget-vbox").first.screenshot(path=str(OUT / "explorer.png"))
    assert (OUT / "explorer.png").stat().st_size > 10_000
    page.close()


def test_chapter_1_secant_slider_redraws_the_figure(lab):
    OUT.mkdir(exist_ok=True)
    page = run_all(lab, chapter_1_as_finished(lab["work"] / CHAPTER_1).as_posix(), "secants")
    interact = page.locator(".widget-interact")
    figure = interact.locator(".jp-OutputArea-output img")
    figure.wait_for(timeout=30_000)
    before = figure.get_attribute("src")
    readout = interact.locator(".widget-readout")
    value = lambda: float(readout.inner_text().replace("\u2212", "-"))  # noqa: E731 - the readout has a real minus sign
    assert value() == -0.5
    handle = interact.locator(".noUi-handle")
    handle.scroll_into_view_if_needed()
    box = handle.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 - 60, box["y"] + box["height"] / 2, steps=10)
    page.mouse.up()
    page.wait_for_function("el => el.textContent.trim() !== '\u22120.50'", arg=readout.element_handle(), timeout=10_000)
    page.wait_for_function(
        "old => { const img = document.querySelector('.widget-interact .jp-OutputArea-output img');"
        " return img !== null && img.getAttribute('src') !== old; }", arg=before, timeout=30_000)
    assert value() < -0.5  # dragged left: a smaller step h
    interact.screenshot(path=str(OUT / "secants.png"))
    page.close()
