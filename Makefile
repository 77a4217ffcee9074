# gosspi developer tasks. `make ci` is what .ci/run does, minus installs.
GO        ?= go
FUZZTIME  ?= 60s
TOOLBIN   ?= $(CURDIR)/.tools
STATICCHECK ?= $(TOOLBIN)/staticcheck

.PHONY: test race vet lint fuzz bench example wine generate check-names ci

# The test command README.md gives; needs nothing but Go.
test:
	$(GO) test ./...

race:
	$(GO) test -race ./...

vet:
	$(GO) vet ./...
	GOOS=windows $(GO) vet ./...
	GOOS=darwin $(GO) vet ./...

$(STATICCHECK):
	GOBIN=$(TOOLBIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint: $(STATICCHECK)
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(STATICCHECK) ./...
	GOOS=windows $(STATICCHECK) ./...

# Regenerates the constant names of flags and backend (namegen). Not
# ./...: backend/winsspi's go:generate fetches mkwinsyscall.
generate:
	$(GO) generate ./flags ./backend

# Fails if the committed generated names are not what generate produces.
check-names:
	bash .ci/check-names.sh

# Runs every fuzz target for FUZZTIME each (go test -fuzz takes one target at a time).
fuzz:
	FUZZTIME=$(FUZZTIME) bash .ci/fuzz.sh

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...

# The first command of README.md.
example:
	$(GO) run ./examples/handoff

# The Windows backend's conformance tier under Wine (installs Wine, MIT krb5, Samba's ntlm_auth).
wine:
	bash .ci/wine/run.sh

ci: lint vet check-names test race example
	FUZZTIME=200000x bash .ci/fuzz.sh
