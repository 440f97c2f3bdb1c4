"""The notebooks as a person uses them: JupyterLab in a real (headless) Chromium, sliders that change the image.

Needs Debian's `chromium` and the `playwright` Python package (driving that browser by its path; no browser
download). Skipped where either is missing. `.ci/run` installs both.
"""
import os, shutil, socket, subprocess, sys, time, urllib.request, uuid
from pathlib import Path
import pytest

CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')
try: from playwright.sync_api import sync_playwright
except ImportError: sync_playwright = None

MISSING = not CHROMIUM or sync_playwright is None
if MISSING and os.environ.get('VAE_CELEBA_REQUIRE_BROWSER'):   # set by .ci/run: there a skip would hide a broken install
    raise RuntimeError(f"the browser test cannot run: chromium {'found' if CHROMIUM else 'missing'}, playwright {'missing' if sync_playwright is None else 'found'}")
pytestmark = pytest.mark.skipif(MISSING, reason='needs Debian chromium and the playwright package')
NOTEBOOK = Path(__file__).resolve().parents[1]/'nbs'/'08_explore.ipynb'   # the checkpoint explorer of the docs
SHOTS = Path(os.environ.get('VAE_CELEBA_SCREENSHOTS', Path(__file__).resolve().parents[1]/'outputs'/'browser_screenshots'))

def free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

@pytest.fixture
def checkpoint(tmp_path):
    "A small checkpoint trained on the built-in synthetic faces (a few seconds), or VAE_CELEBA_BROWSER_CHECKPOINT."
    if os.environ.get('VAE_CELEBA_BROWSER_CHECKPOINT'): return Path(os.environ['VAE_CELEBA_BROWSER_CHECKPOINT']).resolve()
    from vae_celeba.config import Config
    from vae_celeba.training import Trainer
    cfg = Config.tiny(output_dir=str(tmp_path/'run'), cache_dir=str(tmp_path/'cache'), synthetic_size=400, epochs=1, num_workers=0)
    t = Trainer(cfg); t.verbose = False; t.fit()
    return tmp_path/'run'/'checkpoints'/'best.pt'

@pytest.fixture
def jupyterlab(tmp_path, checkpoint):
    "JupyterLab from this venv on 127.0.0.1 with a token and private runtime/config folders; stopped by its pid."
    root = tmp_path/'nbs'; root.mkdir(); shutil.copy(NOTEBOOK, root/'explore.ipynb')   # a copy: the run does not touch nbs/
    port, token = free_port(), uuid.uuid4().hex
    env = dict(os.environ, VAE_CELEBA_CHECKPOINT=str(checkpoint), JUPYTER_RUNTIME_DIR=str(tmp_path/'runtime'),
               JUPYTER_CONFIG_DIR=str(tmp_path/'jconfig'), JUPYTER_DATA_DIR=str(Path(sys.prefix)/'share'/'jupyter'),
               IPYTHONDIR=str(tmp_path/'ipython'), TQDM_DISABLE='1')
    log = open(tmp_path/'jupyterlab.log', 'w')
    p = subprocess.Popen([sys.executable, '-m', 'jupyterlab', '--no-browser', '--ip', '127.0.0.1', f'--port={port}',
                          f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={root}', '--allow-root'],
                         env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f'http://127.0.0.1:{port}'
    t = time.time()
    while True:
        try: urllib.request.urlopen(f'{url}/api/status?token={token}', timeout=2); break
        except Exception:
            if p.poll() is not None or time.time() - t > 120:
                p.kill(); raise RuntimeError(f"JupyterLab did not start: {(tmp_path/'jupyterlab.log').read_text()[-2000:]}")
            time.sleep(0.5)
    yield url, token
    p.terminate()
    try: p.wait(timeout=20)
    except subprocess.TimeoutExpired: p.kill(); p.wait()
    log.close()

def _temperature_cell() -> int:
    "Index among the explorer's code cells of the one that shows the temperature slider (the interpolation is the next)."
    import json
    code = [''.join(c['source']) for c in json.loads(NOTEBOOK.read_text())['cells'] if c['cell_type'] == 'code']
    return next(i for i, c in enumerate(code) if c.startswith('explore_temperature('))
TEMPERATURE_CELL = _temperature_cell()

def output_image(page, cell):
    "The image element that the `cell`-th code cell displays (0-based among code cells)."
    return page.locator('.jp-CodeCell').nth(cell).locator('.jp-OutputArea-output img').first

def drag_slider(page, cell, index, presses):
    "Move slider `index` of a code cell's output with the keyboard (as a person would after clicking its handle)."
    handle = page.locator('.jp-CodeCell').nth(cell).locator('.widget-slider .noUi-handle, .widget-hslider .noUi-handle').nth(index)
    handle.click()
    for _ in range(abs(presses)): handle.press('ArrowRight' if presses > 0 else 'ArrowLeft')

def wait_changed(img, before, timeout=60):
    t = time.time()
    while img.get_attribute('src') == before:
        if time.time() - t > timeout: return False
        time.sleep(0.2)
    return True

def test_sliders_change_the_image(jupyterlab):
    url, token = jupyterlab
    SHOTS.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots in {SHOTS}")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
            '--no-first-run', '--disable-quic', '--disable-sync'])
        try:
            page = browser.new_page(viewport={'width': 1280, 'height': 1400})
            page.goto(f'{url}/lab/tree/explore.ipynb?token={token}')
            page.wait_for_selector('.jp-Notebook .jp-CodeCell', timeout=120_000)
            # a fresh JupyterLab may ask which kernel to start: take the one the notebook names (its default)
            try: page.locator('.jp-Dialog button.jp-mod-accept').click(timeout=20_000)
            except Exception: pass                                         # no dialog: the kernel starts by itself
            page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"], .jp-Toolbar-kernelStatus', timeout=120_000)
            page.click('.lm-MenuBar-itemLabel:text-is("Run")')
            page.click('li[data-command="notebook:run-all-cells"], li[data-command="runmenu:run-all"]')
            sliders = page.locator('.widget-slider .noUi-handle, .widget-hslider .noUi-handle')
            try: sliders.nth(8).wait_for(timeout=180_000)                 # temperature 1, interpolations 3 + 3, attribute 1, photo 1
            except Exception:
                page.screenshot(path=SHOTS/'failure.png'); raise
            temp_img, interp_img = output_image(page, TEMPERATURE_CELL), output_image(page, TEMPERATURE_CELL + 1)
            temp_img.wait_for(); interp_img.wait_for()
            page.screenshot(path=SHOTS/'1_after_run_all.png')
            label = page.locator('.jp-CodeCell').nth(TEMPERATURE_CELL).locator('.widget-label').first
            assert label.inner_text().strip() == 'temperature', label.inner_text()
            assert label.evaluate('e => e.scrollWidth <= e.clientWidth'), "the slider's label is cut short"
            a = temp_img.screenshot(path=SHOTS/'2_temperature_before.png'); src = temp_img.get_attribute('src')
            drag_slider(page, TEMPERATURE_CELL, 0, -8)                                    # temperature 1.0 -> 0.2
            assert wait_changed(temp_img, src), "moving the temperature slider did not change the image"
            time.sleep(0.5)
            b = temp_img.screenshot(path=SHOTS/'3_temperature_after.png')
            assert a != b
            c = interp_img.screenshot(path=SHOTS/'4_interpolation_before.png'); src = interp_img.get_attribute('src')
            drag_slider(page, TEMPERATURE_CELL + 1, 0, 6)                                     # position 0.5 -> 0.8
            assert wait_changed(interp_img, src), "moving the interpolation slider did not change the image"
            time.sleep(0.5)
            d = interp_img.screenshot(path=SHOTS/'5_interpolation_after.png')
            assert c != d
            page.screenshot(path=SHOTS/'6_after_sliders.png')
        finally: browser.close()
