# SMS Connector for Odoo 19 — `make run` (demo) and `make test` (every suite).
# The addons are found, not listed: every sms_connector*/__manifest__.py (scripts/addons.sh).
ODOO_SRC ?= /opt/odoo
VENV ?= $(CURDIR)/.venv
ADDONS := $(shell bash scripts/addons.sh ,)
DEMO_DB ?= sms_connector_demo
TEST_DB ?= sms_connector_test
HTTP_PORT ?= 8069
FAKE_PORT ?= 8070
CONF := $(CURDIR)/.odoo.conf
export ODOO_SRC VENV HTTP_PORT
export NO_PROXY := 127.0.0.1,localhost
export no_proxy := 127.0.0.1,localhost

.PHONY: setup run test lint wheels bench clean

## make setup: Odoo 19.0 source (cloned into ODOO_SRC when missing), PostgreSQL, .venv, .odoo.conf
setup:
	@bash scripts/setup_env.sh
	@bash scripts/odoo_conf.sh > $(CONF)

## make run: demo database with our addons and demo data, fake providers, Odoo on http://127.0.0.1:8069
run: setup
	@bash scripts/run_demo.sh "$(CONF)" "$(DEMO_DB)" "$(ADDONS)" "$(FAKE_PORT)"

## make test: fresh test database, install the addons, run every test with pytest-odoo
test: setup lint
	@bash scripts/run_tests.sh "$(CONF)" "$(TEST_DB)" "$(ADDONS)"

## make lint: ruff, pylint-odoo (.pylintrc), XML/security CSV/manifest checks (also the pre-commit hooks)
lint:
	@bash scripts/lint.sh

## make wheels: one wheel per addon (odoo-addon-<addon>, whool) into dist/
wheels:
	@bash scripts/build_wheels.sh "$(CURDIR)/dist"

## make bench: throughput benchmarks against the fake providers, ours vs Odoo's native path
bench: setup
	@bash scripts/run_bench.sh "$(CONF)"

clean:
	rm -rf .odoo-data $(CONF) .pytest_cache
