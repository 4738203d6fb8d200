"""Refresh the screenshots in sms_connector/static/description/screenshots/ from a running `make run`.

    make run                                   # in another terminal: demo database, Odoo, fake providers
    .venv/bin/python scripts/screenshots.py    # headless Chromium, logged in as admin; sends one demo SMS

Each screen is reached the way a user reaches it (menu action, record, button), through the Chrome
DevTools protocol; no Odoo internals, so it works against any running demo.
"""
import argparse
import base64
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import websocket

OUT = Path(__file__).resolve().parent.parent / 'sms_connector' / 'static' / 'description' / 'screenshots'


class Browser:
    """The few DevTools commands the screens need: go, wait, click, type, capture."""

    def __init__(self, chromium, port, width, height):
        self.profile = tempfile.mkdtemp(prefix='sms_shots_')
        self.proc = subprocess.Popen(
            [chromium, '--headless=new', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--no-first-run',
             f'--remote-debugging-port={port}', f'--window-size={width},{height}', f'--user-data-dir={self.profile}',
             'about:blank'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(50):
            try:
                with urllib.request.urlopen(f'http://127.0.0.1:{port}/json/list', timeout=1) as answer:
                    pages = [p for p in json.load(answer) if p['type'] == 'page']
            except OSError:  # not listening yet
                pages = []
            if pages:
                break
            time.sleep(0.2)
        else:
            raise SystemExit("Chromium did not start")
        self.ws = websocket.create_connection(pages[0]['webSocketDebuggerUrl'], timeout=30, suppress_origin=True)
        self.next_id = 0
        self.call('Emulation.setDeviceMetricsOverride', width=width, height=height, deviceScaleFactor=1, mobile=False)

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({'id': self.next_id, 'method': method, 'params': params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get('id') == self.next_id:
                if 'error' in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get('result', {})

    def js(self, expression):
        result = self.call('Runtime.evaluate', expression=expression, awaitPromise=True, returnByValue=True)
        if 'exceptionDetails' in result:
            raise RuntimeError(result['exceptionDetails'].get('text'))
        return result['result'].get('value')

    def wait(self, selector, timeout=30):
        deadline = time.monotonic() + timeout
        while not self.js(f"!!document.querySelector({json.dumps(selector)})"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"not found: {selector}")
            time.sleep(0.25)
        time.sleep(0.8)  # let the web client finish rendering (fonts, counters)

    def wait_gone(self, selector, timeout=30):
        deadline = time.monotonic() + timeout
        while self.js(f"!!document.querySelector({json.dumps(selector)})"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"still there: {selector}")
            time.sleep(0.25)

    def go(self, url, selector):
        self.call('Page.navigate', url=url)
        time.sleep(0.5)
        self.wait(selector)

    def click(self, selector, then):
        self.wait(selector)
        self.js(f"document.querySelector({json.dumps(selector)}).click()")
        self.wait(then)

    def type(self, selector, text):
        """Types like a user (input events), so that Odoo's counters update."""
        self.wait(selector)
        self.js(f"document.querySelector({json.dumps(selector)}).focus()")
        self.call('Input.insertText', text=text)
        self.js("document.activeElement.blur()")  # Odoo's SMS counter follows the saved value
        time.sleep(0.8)

    def capture(self, name):
        data = self.call('Page.captureScreenshot', format='png')['data']
        (OUT / name).write_bytes(base64.b64decode(data))
        print(f"  {OUT / name}")

    def close(self):
        self.ws.close()
        self.proc.terminate()
        self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def record_id(odoo, model, domain):
    """The first record matching domain, read over JSON-RPC as admin (to open its form)."""
    payload = {'jsonrpc': '2.0', 'method': 'call', 'params': {
        'model': model, 'method': 'search', 'args': [domain], 'kwargs': {'limit': 1}}}
    request = urllib.request.Request(f'{odoo.url}/web/dataset/call_kw', json.dumps(payload).encode(),
                                     {'Content-Type': 'application/json', 'Cookie': odoo.cookie})
    with urllib.request.urlopen(request) as answer:
        ids = json.load(answer)['result']
    if not ids:
        raise SystemExit(f"demo data missing: {model} {domain}")
    return ids[0]


class Odoo:
    def __init__(self, url, db, login, password):
        self.url = url
        payload = {'jsonrpc': '2.0', 'params': {'db': db, 'login': login, 'password': password}}
        request = urllib.request.Request(f'{url}/web/session/authenticate', json.dumps(payload).encode(),
                                         {'Content-Type': 'application/json'})
        with urllib.request.urlopen(request) as answer:
            if json.load(answer).get('error'):
                raise SystemExit(f"cannot log in to {url} as {login}")
            self.cookie = answer.headers['Set-Cookie'].split(';')[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--odoo', default='http://127.0.0.1:8069')
    parser.add_argument('--simulator', default='http://127.0.0.1:8070')
    parser.add_argument('--db', default='sms_connector_demo')
    parser.add_argument('--chromium', default=shutil.which('chromium') or shutil.which('google-chrome') or 'chromium')
    parser.add_argument('--devtools-port', type=int, default=9333)
    args = parser.parse_args()

    odoo = Odoo(args.odoo, args.db, 'admin', 'admin')
    browser = Browser(args.chromium, args.devtools_port, 1440, 900)
    try:
        name, value = odoo.cookie.split('=', 1)
        browser.call('Network.enable')
        browser.call('Network.setCookie', name=name, value=value, url=args.odoo)
        web = args.odoo + '/odoo'
        form, dialog = '.o_form_view .o_form_sheet', '.modal .o_form_view'

        camille = record_id(odoo, 'res.partner', [('name', '=', 'Camille Laurent')])
        browser.go(f'{web}/action-base.action_partner_form/{camille}', form)
        browser.click('.o_form_view .o_field_phone_sms', dialog)
        browser.type('.modal textarea', "Hello Camille, your order [ref. 1042] is ready: 25€ to pay on pick-up.")
        browser.capture('sms_composer.png')
        browser.js("document.querySelector('.modal footer button[name=action_send_sms]').click()")
        browser.wait_gone('.modal')  # sent through the demo gateway: the phone simulator receives it

        browser.go(f'{web}/action-sms_connector.sms_message_action', '.o_list_view .o_data_row')
        browser.capture('sms_activity.png')

        cleo = record_id(odoo, 'res.partner', [('name', '=', 'Cleo Johnson')])
        browser.go(f'{web}/action-base.action_partner_form/{cleo}', form)
        browser.capture('contact_conversation.png')
        browser.click('button[name="action_view_sms_conversation"]', '.modal .o_sms_connector_thread, .modal textarea')
        browser.capture('conversation_thread.png')

        browser.go(f'{web}/action-sms_connector.sms_message_action_inbox', '.o_list_view .o_data_row')
        browser.capture('sms_inbox.png')

        mailing = record_id(odoo, 'mailing.mailing', [('mailing_type', '=', 'sms')])
        browser.go(f'{web}/action-mass_mailing_sms.mailing_mailing_action_sms/{mailing}', form)
        browser.capture('sms_campaign.png')

        gateway = record_id(odoo, 'sms.gateway', [])
        browser.go(f'{web}/action-sms_connector.sms_gateway_action/{gateway}', form)
        browser.capture('gateway_form.png')

        browser.go(args.simulator, 'body')
        browser.capture('phone_simulator.png')
    finally:
        browser.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
