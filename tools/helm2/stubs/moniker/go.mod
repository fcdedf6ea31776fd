// Not served by the module proxy here; see moniker.go.
module github.com/technosophos/moniker

go 1.12
