# Spreekkamer — the two commands (and a few more). Run as root on Debian 12.
.PHONY: run clean-demo test test-deploy bench build typecheck clean release

run:        ## install what is missing, start everything, serve the appliance with demo data
	@scripts/run.sh

clean-demo: ## remove make run's demo data: its Redis keys (own database number) and its database
	@scripts/clean-demo.sh

test:       ## install what is missing and run every test against the real services
	@scripts/test.sh
	@scripts/test-deploy.sh

test-deploy: ## the Ansible deployment for real: lint, converge a debootstrapped Debian 12 twice and check it, then the multi-server inventory on seven roots (~25 min on 2 cores)
	@scripts/test-deploy.sh

bench:      ## benchmarks; writes .run/bench/latest.json
	@scripts/bench.sh

release:    ## the versioned tarball the Ansible role installs offline (.run/release/; VERSION=v1.4.0 to name it)
	@scripts/release.sh

build:
	@npm run -s build

typecheck:
	@npx tsc -p tsconfig.json --noEmit

clean:
	rm -rf .run web/dist
