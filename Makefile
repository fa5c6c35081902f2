# sohoa — a new user needs two commands: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Debian names; `sohoa doctor` says what each is for.
SYSTEM_PACKAGES := tesseract-ocr tesseract-ocr-vie tesseract-ocr-osd fonts-texgyre \
	fonts-liberation2 libzbar0 softhsm2 opensc poppler-utils postgresql

.PHONY: setup system test demo bench clean

PDFJS := $(VENV)/node/node_modules/pdfjs-dist

setup: system $(VENV)/.installed $(PDFJS)
	@$(BIN)/sohoa doctor

# Installs missing system packages as root or with sudo; otherwise prints the command.
system:
	@if ! command -v dpkg-query >/dev/null; then \
	  echo "Not a Debian-like system: install the equivalents of: $(SYSTEM_PACKAGES)"; exit 0; fi; \
	missing=$$(for p in $(SYSTEM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	missing=$$(echo $$missing); \
	if [ -z "$$missing" ]; then echo "System packages: all present."; exit 0; fi; \
	install="apt-get install -y --no-install-recommends $$missing"; \
	if [ "$$(id -u)" = 0 ]; then \
	  echo "Installing: $$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$install; \
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then \
	  echo "Installing with sudo: $$missing"; sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive $$install; \
	else \
	  echo "sohoa needs these system packages: $$missing"; \
	  echo "Run:  sudo apt-get update && sudo $$install"; \
	  echo "then run 'make setup' again."; exit 1; \
	fi

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

# pdf.js, the engine of browser PDF viewers: the tests check that text copies right in it.
$(PDFJS): | $(VENV)/.installed
	@if command -v npm >/dev/null; then \
	  npm install --prefix $(VENV)/node --omit=optional --no-audit --no-fund --loglevel=error \
	    pdfjs-dist@4.10.38; \
	else echo "npm not found: the pdf.js checks will be skipped (apt-get install nodejs npm)"; fi

# The archive tests run twice: SQLite catalogue + bags on disk, then PostgreSQL + S3 on
# throwaway servers (tests/pg_server.py: Debian's PostgreSQL as the postgres user on a Unix
# socket in a temp folder; tests/s3_server.py: moto's S3 server on 127.0.0.1), stopped after.
ARCHIVE_TESTS := tests/test_archive.py tests/test_archive_crash.py tests/test_archive_samples.py

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	$(BIN)/python -m pytest --catalogue postgresql --store s3 $(ARCHIVE_TESTS) $(PYTEST_ARGS)

demo: setup
	$(BIN)/sohoa demo

# The alternatives run side by side: pyHanko's CLI in .venv, OCRmyPDF (+ Ghostscript) in its
# own venv so that its pins never touch sohoa's.
PEERS := bench/.venv-peers
$(PEERS)/.installed:
	@$(MAKE) --no-print-directory system SYSTEM_PACKAGES=ghostscript
	test -x $(PEERS)/bin/python || $(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/python -m pip install -q ocrmypdf
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	touch $@

bench: setup $(PEERS)/.installed
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) sohoa-demo .pytest_cache
