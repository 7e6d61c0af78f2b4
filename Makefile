# pico_mm — the two commands a new user runs:
#   make demo   set up .venv and run the end-to-end demo on real sample clips (CPU)
#   make test   set up .venv and run the test suite (CPU)
# On a GPU machine (sets up .venv first, like the others):
#   make gpu-check   every GPU path once: table + work_dirs/gpu_check/gpu_check.json
#                    (docs/gpu.md; without a GPU: one line, exit 0)
PY := .venv/bin/python
PYTEST_ARGS ?=
GPU_CHECK_ARGS ?=

.PHONY: env test demo gpu-check clean-env

env:
	bash scripts/setup_env.sh

test: env
	$(PY) -m pytest tests $(PYTEST_ARGS)

demo: env
	$(PY) tools/demo.py --work-dir work_dirs/demo

gpu-check: env
	$(PY) tools/gpu_check.py --out work_dirs/gpu_check/gpu_check.json $(GPU_CHECK_ARGS)

clean-env:
	rm -rf .venv
