# The two commands a fresh machine needs; the scripts install whatever is missing first.
.PHONY: run test figures load

## make run: build the release site and run the portal on http://127.0.0.1:3000
run:
	bash scripts/run.sh

## make test: formatting, lints, Rust tests, release build, Playwright in Chromium (what CI runs)
test:
	bash scripts/test.sh

## make figures: bundle sizes, start-up time and memory of the release build
figures:
	bash scripts/figures.sh

## make load: requests per second and latency under load (oha) beside a minimal axum handler, and memory
load:
	bash scripts/load.sh
