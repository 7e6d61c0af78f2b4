# pico_mm — the two commands a new user runs:
#   make demo   set up .venv and run the end-to-end demo on real sample clips (CPU)
#   make test   set up .venv and run the test suite (CPU)
PY := .venv/bin/python
PYTEST_ARGS ?=

.PHONY: env test demo clean-env

env:
	bash scripts/setup_env.sh

test: env
	$(PY) -m pytest tests $(PYTEST_ARGS)

demo: env
	$(PY) tools/demo.py --work-dir work_dirs/demo

clean-env:
	rm -rf .venv
