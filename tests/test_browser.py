"""The notebooks as a person uses them: JupyterLab in a real (headless) Chromium, sliders that change the image.

Needs Debian's `chromium` and the `playwright` Python package (driving that browser by its path; no browser
download). Skipped where either is missing. `.ci/run` installs both.
"""
import json, os, re, shutil, socket, subprocess, sys, time, urllib.request, uuid
from contextlib import contextmanager
from pathlib import Path
import pytest

CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')
try: from playwright.sync_api import sync_playwright
except ImportError: sync_playwright = None

MISSING = not CHROMIUM or sync_playwright is None
if MISSING and os.environ.get('VAE_CELEBA_REQUIRE_BROWSER'):   # set by .ci/run: there a skip would hide a broken install
    raise RuntimeError(f"the browser test cannot run: chromium {'found' if CHROMIUM else 'missing'}, playwright {'missing' if sync_playwright is None else 'found'}")
pytestmark = pytest.mark.skipif(MISSING, reason='needs Debian chromium and the playwright package')
NBS = Path(__file__).resolve().parents[1]/'nbs'
# the notebooks a person runs top to bottom and then plays with: how many sliders each shows after "Run All"
NOTEBOOKS = {'08_explore.ipynb': 9,    # the checkpoint explorer: temperature 1, interpolations 3 + 3, attribute 1, photo 1
             '03_training.ipynb': 4}   # the training chapter, on the model it has just trained: temperature 1, interpolation 3
SHOTS = Path(os.environ.get('VAE_CELEBA_SCREENSHOTS', Path(__file__).resolve().parents[1]/'outputs'/'browser_screenshots'))

def free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def explorer_checkpoint(tmp_path) -> Path:
    "A small checkpoint trained on the built-in synthetic faces (a few seconds), or VAE_CELEBA_BROWSER_CHECKPOINT."
    if os.environ.get('VAE_CELEBA_BROWSER_CHECKPOINT'): return Path(os.environ['VAE_CELEBA_BROWSER_CHECKPOINT']).resolve()
    from vae_celeba.config import Config
    from vae_celeba.training import Trainer
    cfg = Config.tiny(output_dir=str(tmp_path/'run'), cache_dir=str(tmp_path/'cache'), synthetic_size=400, epochs=1, num_workers=0)
    t = Trainer(cfg); t.out.verbose = False; t.fit()
    return tmp_path/'run'/'checkpoints'/'best.pt'

@contextmanager
def jupyterlab(tmp_path, notebook:str, env:dict):
    """JupyterLab from this venv on 127.0.0.1 with a token and private runtime/config folders, serving a copy of
    `nbs/notebook` beside the project's configs (the notebooks read `../configs`); stopped by its pid."""
    root = tmp_path/'project'; (root/'nbs').mkdir(parents=True)
    shutil.copy(NBS/notebook, root/'nbs'/notebook)                     # a copy: the run does not touch nbs/
    (root/'configs').symlink_to(NBS.parent/'configs')
    # every cell in the page, not only those scrolled to: the test looks for the slider cells by their index
    settings = tmp_path/'jconfig'/'lab'/'user-settings'/'@jupyterlab'/'notebook-extension'
    settings.mkdir(parents=True); (settings/'tracker.jupyterlab-settings').write_text('{"windowingMode": "none"}')
    port, token = free_port(), uuid.uuid4().hex
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path/'runtime'), JUPYTER_CONFIG_DIR=str(tmp_path/'jconfig'),
               JUPYTER_DATA_DIR=str(Path(sys.prefix)/'share'/'jupyter'), IPYTHONDIR=str(tmp_path/'ipython'), TQDM_DISABLE='1', **env)
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
    try: yield f'{url}/lab/tree/nbs/{notebook}?token={token}'
    finally:
        p.terminate()
        try: p.wait(timeout=20)
        except subprocess.TimeoutExpired: p.kill(); p.wait()
        log.close()

def temperature_cell(notebook:str) -> int:
    "Index among the notebook's code cells of the one that shows the temperature slider (the interpolation is the next)."
    code = [''.join(c['source']) for c in json.loads((NBS/notebook).read_text())['cells'] if c['cell_type'] == 'code']
    return next(i for i, c in enumerate(code) if re.search(r'^explore_temperature\(', c, re.M))

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

@pytest.mark.parametrize('notebook', list(NOTEBOOKS))
def test_sliders_change_the_image(tmp_path, notebook):
    "Run All in JupyterLab (no error may stop it before the sliders), then move the temperature and interpolation sliders."
    env = {'VAE_CELEBA_CHECKPOINT': str(explorer_checkpoint(tmp_path))} if notebook == '08_explore.ipynb' else {}
    shots, cell = SHOTS/Path(notebook).stem, temperature_cell(notebook)
    shots.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots in {shots}")
    with jupyterlab(tmp_path, notebook, env) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
            '--no-first-run', '--disable-quic', '--disable-sync'])
        try:
            page = browser.new_page(viewport={'width': 1280, 'height': 1400})
            run_all(page, url, NOTEBOOKS[notebook], shots)
            check_sliders(page, cell, shots)
        finally: browser.close()

def run_all(page, url:str, n_sliders:int, shots:Path):
    "Open the notebook, start its kernel, Run All, and wait until its sliders are there."
    page.goto(url)
    page.wait_for_selector('.jp-Notebook .jp-CodeCell', timeout=120_000)
    # a fresh JupyterLab may ask which kernel to start: take the one the notebook names (its default)
    try: page.locator('.jp-Dialog button.jp-mod-accept').click(timeout=20_000)
    except Exception: pass                                         # no dialog: the kernel starts by itself
    page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"], .jp-Toolbar-kernelStatus', timeout=120_000)
    page.click('.lm-MenuBar-itemLabel:text-is("Run")')
    page.click('li[data-command="notebook:run-all-cells"], li[data-command="runmenu:run-all"]')
    try: page.locator('.widget-slider .noUi-handle, .widget-hslider .noUi-handle').nth(n_sliders - 1).wait_for(timeout=600_000)
    except Exception:
        errors = page.locator('.jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]').all_inner_texts()
        page.screenshot(path=shots/'failure.png', full_page=True)
        raise AssertionError(f"the sliders did not appear after Run All; error outputs: {[e[-500:] for e in errors][-3:]}")

def check_sliders(page, cell:int, shots:Path):
    "The temperature slider's label reads in full, and moving either slider changes its image."
    temp_img, interp_img = output_image(page, cell), output_image(page, cell + 1)
    temp_img.wait_for(); interp_img.wait_for()
    page.screenshot(path=shots/'1_after_run_all.png')
    label = page.locator('.jp-CodeCell').nth(cell).locator('.widget-label').first
    assert label.inner_text().strip() == 'temperature', label.inner_text()
    assert label.evaluate('e => e.scrollWidth <= e.clientWidth'), "the slider's label is cut short"
    a = temp_img.screenshot(path=shots/'2_temperature_before.png'); src = temp_img.get_attribute('src')
    drag_slider(page, cell, 0, -8)                                    # temperature 1.0 -> 0.2
    assert wait_changed(temp_img, src), "moving the temperature slider did not change the image"
    time.sleep(0.5)
    b = temp_img.screenshot(path=shots/'3_temperature_after.png')
    assert a != b
    c = interp_img.screenshot(path=shots/'4_interpolation_before.png'); src = interp_img.get_attribute('src')
    drag_slider(page, cell + 1, 0, 6)                                 # position 0.5 -> 0.8
    assert wait_changed(interp_img, src), "moving the interpolation slider did not change the image"
    time.sleep(0.5)
    d = interp_img.screenshot(path=shots/'5_interpolation_after.png')
    assert c != d
    page.screenshot(path=shots/'6_after_sliders.png')
