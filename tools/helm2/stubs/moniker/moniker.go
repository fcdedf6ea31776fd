// Package moniker stands in for github.com/technosophos/moniker, which the module proxy here does not serve.
// Tiller uses it only to invent a release name when `helm install` is given none ("adjective-animal"); this
// package keeps that interface and behaviour with word lists of its own. Berth's tests always name releases.
package moniker

import (
	"math/rand"
	"time"
)

// Namer invents names.
type Namer interface {
	Name() string
	NameSep(sep string) string
}

var (
	adjectives = []string{"amber", "brisk", "calm", "dapper", "eager", "fuzzy", "gentle", "hasty", "icy", "jolly",
		"keen", "lanky", "mellow", "nimble", "olive", "plucky", "quiet", "rusty", "sunny", "tidy", "vivid", "witty"}
	animals = []string{"badger", "crane", "dingo", "eel", "ferret", "gecko", "heron", "ibis", "jackal", "koala",
		"lemur", "marten", "newt", "otter", "panda", "quail", "raven", "stoat", "tapir", "vole", "walrus", "yak"}
)

type namer struct{ random *rand.Rand }

// New returns a Namer seeded from the clock.
func New() Namer { return &namer{random: rand.New(rand.NewSource(time.Now().UnixNano()))} }

func (n *namer) Name() string { return n.NameSep(" ") }

func (n *namer) NameSep(sep string) string {
	return adjectives[n.random.Intn(len(adjectives))] + sep + animals[n.random.Intn(len(animals))]
}
