module github.com/gosspi/gosspi

go 1.22

require (
	github.com/google/go-cmp v0.7.0
	github.com/stretchr/testify v1.10.0
	golang.org/x/crypto v0.33.0
	golang.org/x/sys v0.30.0
)

require (
	github.com/davecgh/go-spew v1.1.1 // indirect
	github.com/pmezard/go-difflib v1.0.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
