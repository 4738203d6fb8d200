# SMS Connector for Odoo 19 — `make run` (demo) and `make test` (every suite).
ODOO_SRC ?= /opt/odoo
VENV ?= $(CURDIR)/.venv
PYTHON := $(VENV)/bin/python
ADDONS := sms_connector,sms_connector_twilio,sms_connector_octopush
DEMO_DB ?= sms_connector_demo
TEST_DB ?= sms_connector_test
FAKE_PORT ?= 8070
CONF := $(CURDIR)/.odoo.conf
export ODOO_SRC VENV
export NO_PROXY := 127.0.0.1,localhost
export no_proxy := 127.0.0.1,localhost

.PHONY: setup run test lint wheels bench clean

setup:
	@bash scripts/setup_env.sh
	@bash scripts/odoo_conf.sh > $(CONF)

## make run: demo database with our addons and demo data, fake providers, Odoo on http://127.0.0.1:8069
run: setup
	@bash scripts/run_demo.sh "$(CONF)" "$(DEMO_DB)" "$(ADDONS)" "$(FAKE_PORT)"

## make test: fresh test database, install the addons, run every test with pytest-odoo
test: setup lint
	@bash scripts/run_tests.sh "$(CONF)" "$(TEST_DB)" "$(ADDONS)"

## make lint: ruff, pylint-odoo (.pylintrc), XML/security CSV/manifest checks
lint:
	@$(VENV)/bin/ruff check sms_connector sms_connector_twilio sms_connector_octopush tests scripts
	@$(VENV)/bin/pylint --rcfile=.pylintrc sms_connector sms_connector_twilio sms_connector_octopush
	@$(PYTHON) scripts/check_addons.py

## make wheels: one wheel per addon (odoo-addon-<addon>, whool) into dist/
wheels:
	@bash scripts/build_wheels.sh "$(CURDIR)/dist"

## make bench: throughput benchmarks against the fake providers, ours vs Odoo's native path
bench: setup
	@bash scripts/run_bench.sh "$(CONF)"

clean:
	rm -rf .odoo-data $(CONF) .pytest_cache
